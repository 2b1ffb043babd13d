"""The signed-in user, their API tokens, and (admins) user management."""

from fastapi import APIRouter, Depends, Response, status

from app.auth import AdminDep, CurrentUserDep, Reviewer, require_admin
from app.deps import LimitQuery, OffsetQuery, SessionDep
from app.schemas.common import Page
from app.schemas.user import NewToken, TokenCreate, TokenPublic, UserCreate, UserCreated, UserPublic, UserUpdate
from app.services import users as service

router = APIRouter(tags=["users"])
admin_router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(require_admin)])


@router.get("/me", dependencies=[Reviewer], response_model=UserPublic)
def who_am_i(user: CurrentUserDep) -> UserPublic:
    return UserPublic.of(user)


@router.get("/tokens", dependencies=[Reviewer], response_model=list[TokenPublic])
def list_my_tokens(user: CurrentUserDep, session: SessionDep) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in service.list_tokens(session, user.id)] if user.id else []


@router.post("/tokens", dependencies=[Reviewer], status_code=status.HTTP_201_CREATED, response_model=NewToken)
def create_my_token(data: TokenCreate, user: CurrentUserDep, session: SessionDep) -> NewToken:
    row, token = service.issue_token(session, user, data.name)
    return NewToken(**TokenPublic.model_validate(row).model_dump(), token=token)


@router.delete("/tokens/{token_id}", dependencies=[Reviewer], status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, user: CurrentUserDep, session: SessionDep) -> Response:
    service.revoke_token(session, token_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get("", response_model=Page[UserPublic])
def list_users(session: SessionDep, limit: LimitQuery = 50, offset: OffsetQuery = 0) -> Page[UserPublic]:
    users, total = service.list_users(session, limit=limit, offset=offset)
    return Page(items=[UserPublic.of(u) for u in users], total=total)


@admin_router.post("", status_code=status.HTTP_201_CREATED, response_model=UserCreated)
def create_user(data: UserCreate, session: SessionDep) -> UserCreated:
    user = service.create_user(session, data.username, data.role, data.password)
    _, token = service.issue_token(session, user, "created with the user")
    return UserCreated(user=UserPublic.of(user), token=token)


@admin_router.get("/{user_id}", response_model=UserPublic)
def get_user(user_id: int, session: SessionDep) -> UserPublic:
    return UserPublic.of(service.get_user(session, user_id))


@admin_router.patch("/{user_id}", response_model=UserPublic)
def update_user(user_id: int, data: UserUpdate, session: SessionDep) -> UserPublic:
    return UserPublic.of(service.update_user(session, user_id, role=data.role, password=data.password,
                                             is_active=data.is_active))


@admin_router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(user_id: int, user: AdminDep, session: SessionDep) -> Response:
    service.delete_user(session, user_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get("/{user_id}/tokens", response_model=list[TokenPublic])
def list_user_tokens(user_id: int, session: SessionDep) -> list[TokenPublic]:
    service.get_user(session, user_id)
    return [TokenPublic.model_validate(t) for t in service.list_tokens(session, user_id)]


@admin_router.post("/{user_id}/tokens", status_code=status.HTTP_201_CREATED, response_model=NewToken)
def create_user_token(user_id: int, data: TokenCreate, session: SessionDep) -> NewToken:
    row, token = service.issue_token(session, service.get_user(session, user_id), data.name)
    return NewToken(**TokenPublic.model_validate(row).model_dump(), token=token)


router.include_router(admin_router)
