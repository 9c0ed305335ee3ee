"""The local mapping template engine (lamroute.local.vtl) against the examples of API Gateway's
mapping template reference and its examples page:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-variable-examples.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html
"""

from __future__ import annotations

import json

import pytest

from lamroute.local.vtl import TemplateError, VtlUtil, jsonpath, render

PARAMS = {"path": {"petId": "7"}, "querystring": {"name": "rex", "q": "a b"},
          "header": {"Accept": "application/json", "X-Id": "\"x\"/é"}}


def test_context_variables_template_example() -> None:
    template = """{
    "stage" : "$context.stage",
    "request_id" : "$context.requestId",
    "api_id" : "$context.apiId",
    "resource_path" : "$context.resourcePath",
    "resource_id" : "$context.resourceId",
    "http_method" : "$context.httpMethod",
    "source_ip" : "$context.identity.sourceIp",
    "user-agent" : "$context.identity.userAgent",
    "account_id" : "$context.identity.accountId",
    "api_key" : "$context.identity.apiKey",
    "caller" : "$context.identity.caller",
    "user" : "$context.identity.user",
    "user_arn" : "$context.identity.userArn"
}"""
    context = {"stage": "prod", "requestId": "abcdefg-000-000-0000-abcdefg", "apiId": "abcd1234",
               "resourcePath": "/", "resourceId": "efg567", "httpMethod": "GET",
               "identity": {"sourceIp": "192.0.2.1", "userAgent": "curl/7.84.0",
                            "accountId": "111122223333", "apiKey": "MyTestKey",
                            "caller": "ABCD-0000-12345", "user": "ABCD-0000-12345",
                            "userArn": "arn:aws:sts::111122223333:assumed-role/Admin/carlos"}}
    assert json.loads(render(template, context=context).output) == {
        "stage": "prod", "request_id": "abcdefg-000-000-0000-abcdefg", "api_id": "abcd1234",
        "resource_path": "/", "resource_id": "efg567", "http_method": "GET",
        "source_ip": "192.0.2.1", "user-agent": "curl/7.84.0", "account_id": "111122223333",
        "api_key": "MyTestKey", "caller": "ABCD-0000-12345", "user": "ABCD-0000-12345",
        "user_arn": "arn:aws:sts::111122223333:assumed-role/Admin/carlos"}


def test_input_params_example_passes_every_parameter() -> None:
    """"Parameter mapping template example": $input.params() is a map of path, querystring and
    header maps. A single quote breaks its JSON, as the reference warns."""
    template = """#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}"""
    assert json.loads(render(template, params=PARAMS).output) == {"params": PARAMS}
    quoted = render(template, params={"querystring": {"name": "it's"}}).output
    with pytest.raises(ValueError):
        json.loads(quoted)


def test_input_params_by_name_searches_path_then_query_then_header() -> None:
    params = {"path": {"id": "p"}, "querystring": {"id": "q", "name": "n"},
              "header": {"name": "h", "X-Only": "x"}}
    out = render("$input.params('id')|$input.params('name')|$input.params('X-Only')|"
                 "[$input.params('missing')]", params=params).output
    assert out == "p|n|x|[]"


def test_input_json_mapping_template_example() -> None:
    """"Example JSON mapping template using $input": a name from the query string and the
    whole POST body, then a subsection with $input.json('$.mykey')."""
    body = '{"mykey": {"a": [1, "é"]}, "other": true}'
    whole = render('{"name" : "$input.params(\'name\')", "body" : $input.json(\'$\')}',
                   body=body, params=PARAMS).output
    assert json.loads(whole) == {"name": "rex", "body": json.loads(body)}
    part = render('{"name" : "$input.params(\'name\')", "body" : $input.json(\'$.mykey\')}',
                  body=body, params=PARAMS).output
    assert json.loads(part) == {"name": "rex", "body": {"a": [1, "é"]}}


def test_input_path_example_counts_things() -> None:
    """"Example request and response using $input": id from the path, count of things."""
    template = """{
    "id" : "$input.params('id')",
    "count" : "$input.path('$.things').size()"
}"""
    body = '{"things" : {"1" : {}, "2" : {}, "3" : {}}}'
    out = render(template, body=body, params={"path": {"id": "abc"}}).output
    assert json.loads(out) == {"id": "abc", "count": "3"}


def test_input_path_pets_example_and_jsonpath_steps() -> None:
    pets = {"pets": [{"id": 1, "type": "dog", "price": 249.99},
                     {"id": 2, "type": "cat", "price": 124.99},
                     {"id": 3, "type": "fish", "price": 0.99}]}
    assert render("$input.path('$.pets').size()", body=json.dumps(pets)).output == "3"
    assert render("$input.path('$.pets')[1].type", body=json.dumps(pets)).output == "cat"
    assert jsonpath(pets, "$['pets'][2].price") == 0.99
    assert jsonpath(pets, "$.nothing.here") is None
    with pytest.raises(TemplateError):
        jsonpath(pets, "pets")


def test_input_body_is_the_raw_payload() -> None:
    assert render('$input.body', body='not json ✓ "\'').output == 'not json ✓ "\''


def test_util_parse_json_example() -> None:
    payload = json.dumps({"errorMessage": json.dumps({"key1": "var1", "key2": {"arr": [1, 2, 3]}})})
    template = """#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))
{
   "errorMessageObjKey2ArrVal" : $errorMessageObj.key2.arr[0]
}"""
    assert json.loads(render(template, body=payload).output) == {"errorMessageObjKey2ArrVal": 1}


def test_util_escape_javascript_escapes_single_quotes() -> None:
    """"This function will turn any regular single quotes (') into escaped ones (\\'). However,
    the escaped single quotes are not valid in JSON."""
    original = "it's \"quoted\" \\ / é 😀\n\t\x01"
    escaped = VtlUtil.escapeJavaScript(original)
    assert escaped == ("it\\'s \\\"quoted\\\" \\\\ \\/ \\u00E9 \\uD83D\\uDE00\\n\\t\\u0001")
    with pytest.raises(ValueError):
        json.loads(f'"{escaped}"')
    assert json.loads('"' + escaped.replace("\\'", "'") + '"') == original


def test_util_url_encode_and_decode() -> None:
    """application/x-www-form-urlencoded, UTF-8: Java's URLEncoder keeps letters, digits and
    .-*_ only."""
    out = render("$util.urlEncode($input.params('q'))|$util.urlEncode('é~/+*._-')|"
                 "$util.urlDecode('a+b%2B%C3%A9')", params=PARAMS).output
    assert out == "a+b|%C3%A9%7E%2F%2B*._-|a b+é"


def test_util_base64_encode_and_decode() -> None:
    out = render("$util.base64Encode('héllo')|$util.base64Decode('aMOpbGxv')").output
    assert out == "aMOpbGxv|héllo"
    with pytest.raises(TemplateError):
        render("$util.base64Decode('not base64!')")


def test_response_override_status_tutorial() -> None:
    """"Override an API's response status code": 400 when the body mentions an error."""
    template = """#set($inputRoot = $input.path('$'))
$input.json("$")
#if($inputRoot.toString().contains("error"))
#set($context.responseOverride.status = 400)
#end"""
    body = '{"errors": [{"key": "GetPetRequest.petId", "message": "The value is out of range."}]}'
    rendered = render(template, body=body)
    assert rendered.status == 400
    assert json.loads(rendered.output) == json.loads(body)
    assert render(template, body='{"pet": 1}').status == 0  # not overridden


def test_response_override_headers_static_and_dynamic() -> None:
    rendered = render("#set($context.responseOverride.header.header3 = \"$input.params('a')"
                      "$input.params('b')\")#foreach($k in $input.path('$').keySet())"
                      "#set($d = $context.responseOverride.header.put($k, "
                      "$input.path('$').get($k)))#end",
                      body='{"X-One": "1", "Content-Type": "text/plain"}',
                      params={"header": {"a": "header1Val", "b": "header2Val"}})
    assert rendered.headers == {"header3": "header1Valheader2Val", "X-One": "1",
                                "Content-Type": "text/plain"}


def test_a_template_that_cannot_render_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        render("#set($x = )")
    with pytest.raises(TemplateError):
        render("$input.path('$').x", body="not json")
