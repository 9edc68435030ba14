package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// Client calls one flexauth deployment as its account's app and admin.
type Client struct {
	T        testing.TB
	URL      string
	AppKey   string
	AdminKey string
	// Jar, when set, keeps cookies across calls as a browser does
	// (Browser); without it every call is a browser seen for the first
	// time.
	Jar http.CookieJar
}

// Browser is a copy of c that keeps cookies, like one browser: pages that
// bind a step to the browser (the password sign-in, single sign-on) need
// the same one throughout.
func (c *Client) Browser() *Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		c.T.Fatal(err)
	}
	b := *c
	b.Jar = jar
	return &b
}

// Response is an HTTP answer, body read.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the body into a map, failing the test if it is not an
// object: for a test that inspects the raw shape of an answer; Decode
// reads it as the contract's type.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	out := map[string]any{}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return out
}

// Do sends a request with a JSON body (a string or reader is sent as is);
// a path starting with / is relative to the deployment.
func (c *Client) Do(method, path, key string, body any) Response {
	c.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.T.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = c.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		c.T.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("apikey", key)
	}
	return c.send(req)
}

func (c *Client) send(req *http.Request) Response {
	c.T.Helper()
	hc := http.DefaultClient
	if c.Jar != nil {
		hc = &http.Client{Jar: c.Jar}
	}
	res, err := hc.Do(req)
	if err != nil {
		c.T.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.T.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: string(raw)}
}

// Admin calls the admin API and fails the test unless it answers want; a
// test that reads the answer uses AdminAs.
func (c *Client) Admin(method, path string, body any, want int) map[string]any {
	c.T.Helper()
	res := c.Do(method, path, c.AdminKey, body)
	if res.Status != want {
		c.T.Fatalf("%s %s = %d %s, want %d", method, path, res.Status, res.Body, want)
	}
	if res.Body == "" {
		return nil
	}
	return res.JSON(c.T)
}

// App calls start or check with the app key.
func (c *Client) App(path string, body any) Response {
	c.T.Helper()
	return c.Do(http.MethodPost, path, c.AppKey, body)
}

// Expect asserts an app API answer, such as 202 {"result":"pending"}, and
// returns the whole body.
func (c *Client) Expect(path string, body any, wantStatus int, wantResult string) map[string]any {
	c.T.Helper()
	res := c.App(path, body)
	got := map[string]any{}
	_ = json.Unmarshal([]byte(res.Body), &got)
	if res.Status != wantStatus || got["result"] != wantResult {
		c.T.Fatalf("POST %s %v = %d %s, want %d %q", path, body, res.Status, res.Body, wantStatus, wantResult)
	}
	return got
}

// Start starts an attempt that the policy allows and returns its id.
func (c *Client) Start(system, authid string) string {
	c.T.Helper()
	out := ExpectAs[StartSuccess](c, "/v1/start", map[string]any{"system": system, "authid": authid}, http.StatusOK, "success")
	if out.Attempt == "" {
		c.T.Fatalf("start answered no attempt id: %+v", out)
	}
	return out.Attempt
}

// Setup creates a system and a user (authid@example.com) assigned to it
// with method.
func (c *Client) Setup(system string, methods []string, sensitivity, authid, method string) {
	c.T.Helper()
	c.Admin(http.MethodPost, "/v1/admin/systems", map[string]any{
		"name": system, "methods": methods, "sensitivity": sensitivity, "ttl_seconds": 300,
	}, http.StatusCreated)
	c.Admin(http.MethodPost, "/v1/admin/users", map[string]any{
		"authid": authid, "name": "User " + authid, "email": authid + "@example.com",
	}, http.StatusCreated)
	c.Admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", map[string]any{
		"assignments": []map[string]any{{"system": system, "method": method}},
	}, http.StatusOK)
}

// Page fetches an end-user page without an API key (a POST is the page's
// form being submitted, from the page itself).
func (c *Client) Page(method, url string) Response {
	c.T.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		c.T.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// As a browser submitting the page's own form: flexauth refuses
		// a link posted from another site.
		req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	return c.send(req)
}

// AuditTypes returns the types of the events listed at query (such as
// "authid=alice"), checking they come newest first.
func (c *Client) AuditTypes(query string) []string {
	c.T.Helper()
	events := AdminAs[AuditEvents](c, http.MethodGet, "/v1/admin/audit?"+query, nil, http.StatusOK).Events
	types := make([]string, 0, len(events))
	var last int64 = -1
	for _, ev := range events {
		if last >= 0 && ev.ID >= last {
			c.T.Fatalf("audit events are not newest first: %+v", events)
		}
		last = ev.ID
		types = append(types, ev.Type)
	}
	return types
}
