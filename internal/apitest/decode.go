package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// Decode decodes a JSON body into T strictly, failing the test on a field
// T does not declare, on trailing data, or on a body that is not T: the
// tests' T mirrors the documented contract, so a renamed or undocumented
// field fails the test that reads it instead of reading as a zero value.
func Decode[T any](t testing.TB, res Response) T {
	t.Helper()
	var out T
	dec := json.NewDecoder(bytes.NewReader([]byte(res.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("body (status %d) does not decode as %T: %v\n%s", res.Status, out, err, res.Body)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("body (status %d) has data after its %T: %s", res.Status, out, res.Body)
	}
	return out
}

// AdminAs calls the admin API as Client.Admin does, failing the test
// unless it answers want, and decodes the answer with Decode.
func AdminAs[T any](c *Client, method, path string, body any, want int) T {
	c.T.Helper()
	res := c.Do(method, path, c.AdminKey, body)
	if res.Status != want {
		c.T.Fatalf("%s %s = %d %s, want %d", method, path, res.Status, res.Body, want)
	}
	return Decode[T](c.T, res)
}

// ExpectAs asserts an app API answer as Client.Expect does and decodes it
// with Decode.
func ExpectAs[T any](c *Client, path string, body any, wantStatus int, wantResult string) T {
	c.T.Helper()
	res := c.App(path, body)
	var got struct {
		Result string `json:"result"`
	}
	_ = json.Unmarshal([]byte(res.Body), &got)
	if res.Status != wantStatus || got.Result != wantResult {
		c.T.Fatalf("POST %s %v = %d %s, want %d %q", path, body, res.Status, res.Body, wantStatus, wantResult)
	}
	return Decode[T](c.T, res)
}
