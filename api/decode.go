package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
)

// requestError is a client mistake, answered with its status and a message
// saying what is wrong.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// decodeJSON reads one JSON object from the request body into dst. With
// strict, unknown fields are refused (the admin API); the app API allows
// them because FlexSecure clients send extra fields.
func decodeJSON(c *gin.Context, dst any, strict bool) *requestError {
	dec := json.NewDecoder(c.Request.Body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	// A second value after the object is a malformed request, not extra
	// data to ignore.
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		if rerr := bodyTooLarge(err); rerr != nil {
			return rerr
		}
		return badRequest("request body must hold a single JSON object")
	}
	return nil
}

// jsonError says what is wrong with a body that did not decode.
func jsonError(err error) *requestError {
	if rerr := bodyTooLarge(err); rerr != nil {
		return rerr
	}
	var rerr *requestError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &rerr):
		return rerr
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty; want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends early")
	case errors.As(err, &syntaxErr):
		return badRequest("malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("request body must be a JSON object, not %s", article(typeErr.Value))
		}
		return badRequest("%s must be %s, not %s", typeErr.Field, kindName(typeErr.Type), article(typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return badRequest("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func bodyTooLarge(err error) *requestError {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body exceeds %d bytes", maxErr.Limit)}
	}
	return nil
}

// kindName names a Go type the way a JSON client thinks of it.
func kindName(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a valid value"
}

// article turns encoding/json's value description ("number", "number 1.5",
// "array") into a phrase.
func article(v string) string {
	if v == "" {
		return "this value"
	}
	switch v[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + v
	}
	return "a " + v
}

// respondError answers a requestError as JSON.
func respondError(c *gin.Context, rerr *requestError) {
	fail(c, rerr.status, rerr.msg)
}
