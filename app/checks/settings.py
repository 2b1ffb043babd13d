"""The base of every check's typed settings."""

from pydantic import BaseModel, ConfigDict, StrictBool


class CheckSettings(BaseModel):
    """A check's settings: every check's model extends this one and gives each field a range.

    Strict: a string is not a number, 10.5 is not a count, and Infinity or NaN is no threshold."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    enabled: StrictBool = True
