package oidctest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Graph is a fake Microsoft Graph on loopback that answers GET /v1.0/me
// the way Graph does (its JSON wire format, OData context and error
// bodies included), for the access tokens an Entra Provider granted: a
// bearer token the provider did not issue is refused as Graph refuses
// one, and a token granted without the User.Read scope is denied. Its knobs
// make it fail the ways a client must survive.
type Graph struct {
	srv  *httptest.Server
	prov *Provider

	mu sync.Mutex
	// Knobs, set with Set.
	Status int           // answer every request with this status and a Graph error
	Delay  time.Duration // wait this long before answering (or until the client gives up)
	// requests counts the requests; tokens are the bearer tokens received.
	requests int
	tokens   []string
}

// NewGraph starts a fake Graph for the users and access tokens of prov,
// closed when the test ends.
func NewGraph(t *testing.T, prov *Provider) *Graph {
	t.Helper()
	g := &Graph{prov: prov}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1.0/me", g.me)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.TrimPrefix(r.URL.Path, "/v1.0/")+"'.")
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// URL is Graph's endpoint, the oidc plugin's graph_url.
func (g *Graph) URL() string { return g.srv.URL }

// Close stops Graph: requests to it fail.
func (g *Graph) Close() { g.srv.Close() }

// Set changes knobs under Graph's lock.
func (g *Graph) Set(f func(g *Graph)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

// Requests is how many requests Graph received.
func (g *Graph) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

// BearerTokens are the bearer tokens Graph received, in order.
func (g *Graph) BearerTokens() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.tokens)
}

func (g *Graph) me(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g.mu.Lock()
	g.requests++
	g.tokens = append(g.tokens, token)
	status, delay := g.Status, g.Delay
	g.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		graphError(w, status, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.")
		return
	}
	if token == "" {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	user, scopes, ok := g.prov.accessGrant(token)
	if !ok {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed, there are no dots (.).")
		return
	}
	if !slices.ContainsFunc(scopes, func(s string) bool { return strings.EqualFold(s, "User.Read") }) {
		graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	// Graph answers the selected properties, null for those the user
	// lacks; businessPhones is always an array.
	sel := strings.Split(r.URL.Query().Get("$select"), ",")
	body := map[string]any{}
	for _, p := range sel {
		switch p {
		case "jobTitle":
			body[p] = nullable(user.JobTitle)
		case "mobilePhone":
			body[p] = nullable(user.MobilePhone)
		case "businessPhones":
			body[p] = append([]string{}, user.BusinessPhones...)
		case "displayName":
			body[p] = nullable(user.Name)
		case "id":
			body[p] = user.OID
		}
	}
	body["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#users(" + strings.Join(sel, ",") + ")/$entity"
	w.Header().Set("request-id", RandomString())
	writeGraph(w, http.StatusOK, body)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// graphError answers as Graph does when it refuses a request.
func graphError(w http.ResponseWriter, status int, code, message string) {
	writeGraph(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]string{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": RandomString(), "client-request-id": RandomString()},
	}})
}

func writeGraph(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
