"""OpenAPI for form, multipart and raw bodies (files as ``format: binary``) and for the response
parameter; every document passes openapi-spec-validator."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from lamroute import App, Body, File, Form, Response, UploadFile


class Profile(BaseModel):
    name: str = Field(min_length=1)
    age: int | None = None
    tags: list[str] = []


class Item(BaseModel):
    id: int


def documented_app() -> App:
    app = App(title="Forms", version="1")

    @app.post("/login")
    def login(username: Annotated[str, Form(min_length=1, description="who")],
              remember: Annotated[bool, Form()] = False) -> None: ...

    @app.post("/profile")
    def profile(data: Annotated[Profile, Form()]) -> None: ...

    @app.post("/upload")
    def upload(file: Annotated[UploadFile, File(description="the document")],
               title: Annotated[str, Form()],
               extras: Annotated[list[bytes], File()] = []) -> None: ...  # noqa: B006

    @app.put("/blob")
    def blob(body: Annotated[bytes, Body(media_type="image/png", description="a PNG")]
             ) -> None: ...

    @app.put("/anything")
    def anything(body: Annotated[bytes | None, Body()] = None) -> None: ...

    @app.post("/items", status_code=201)
    def create(response: Response) -> Item: ...

    return app


def test_form_bodies_are_documented_per_media_type() -> None:
    document = documented_app().openapi()
    validate(document)
    login = document["paths"]["/login"]["post"]
    content = login["requestBody"]["content"]
    assert list(content) == ["application/x-www-form-urlencoded", "multipart/form-data"]
    schema = content["application/x-www-form-urlencoded"]["schema"]
    assert schema["required"] == ["username"]
    assert schema["properties"]["username"] == {"type": "string", "minLength": 1,
                                                "description": "who"}
    assert schema["properties"]["remember"] == {"type": "boolean", "default": False}
    assert login["requestBody"]["required"] is True
    assert "422" in login["responses"]


def test_a_form_model_documents_its_fields() -> None:
    document = documented_app().openapi()
    schema = document["paths"]["/profile"]["post"]["requestBody"]["content"][
        "multipart/form-data"]["schema"]
    assert set(schema["properties"]) == {"name", "age", "tags"}
    assert schema["required"] == ["name"]


def test_files_are_binary_strings_in_a_multipart_body() -> None:
    document = documented_app().openapi()
    body = document["paths"]["/upload"]["post"]["requestBody"]
    assert list(body["content"]) == ["multipart/form-data"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"] == {"type": "string", "format": "binary",
                                            "description": "the document"}
    assert schema["properties"]["extras"] == {"type": "array",
                                              "items": {"type": "string", "format": "binary"}}
    assert schema["properties"]["title"] == {"type": "string"}
    assert schema["required"] == ["file", "title"]


def test_raw_bodies_are_binary_under_their_media_type() -> None:
    document = documented_app().openapi()
    blob = document["paths"]["/blob"]["put"]["requestBody"]
    assert blob == {"required": True, "description": "a PNG", "content": {
        "image/png": {"schema": {"type": "string", "format": "binary"}}}}
    anything = document["paths"]["/anything"]["put"]["requestBody"]
    assert anything == {"required": False, "content": {
        "*/*": {"schema": {"type": "string", "format": "binary"}}}}


def test_the_response_parameter_is_not_a_request_parameter() -> None:
    operation = documented_app().openapi()["paths"]["/items"]["post"]
    assert "parameters" not in operation and "requestBody" not in operation
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Item"}
    assert "422" not in operation["responses"]


def test_the_yaml_document_has_no_shared_objects() -> None:
    text = yaml.safe_dump(documented_app().openapi())
    assert "&id" not in text  # no anchors: each media type has its own schema object
    loaded: Any = yaml.safe_load(text)
    validate(loaded)
