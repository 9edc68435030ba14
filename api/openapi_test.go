package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/secret"
)

func testKeyring(t *testing.T) *secret.Keyring {
	t.Helper()
	keys, err := secret.New(bytes.Repeat([]byte{3}, secret.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(openAPIDocument), &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return doc
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := newServer(Config{}, nil, nil, testKeyring(t))
	doc := loadOpenAPI(t)
	// Gin's :param is OpenAPI's {param}.
	ginParam := regexp.MustCompile(`:([A-Za-z_]+)`)

	registered := map[string]bool{}
	for _, r := range s.engine.Routes() {
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		key := strings.ToLower(r.Method) + " " + path
		registered[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not in openapi.json", r.Method, path)
		}
	}

	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			if method == "parameters" {
				continue
			}
			documented = append(documented, method+" "+path)
		}
	}
	sort.Strings(documented)
	for _, key := range documented {
		if !registered[key] {
			t.Errorf("openapi.json documents %s, which no route serves", key)
		}
	}
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(openAPIDocument), &doc); err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllStringSubmatch(openAPIDocument, -1)
	if len(refs) == 0 {
		t.Fatal("no $ref found")
	}
	for _, m := range refs {
		var node any = doc
		for _, part := range strings.Split(m[1], "/") {
			obj, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = obj[part]
		}
		if node == nil {
			t.Errorf("$ref #/%s does not resolve", m[1])
		}
	}
	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	for _, name := range []string{"appKey", "adminKey"} {
		scheme, _ := schemes[name].(map[string]any)
		if scheme["type"] != "apiKey" || scheme["in"] != "header" || scheme["name"] != "apikey" {
			t.Errorf("security scheme %s = %v, want the apikey header", name, scheme)
		}
	}
}

func TestOpenAPIAndHealthAreServed(t *testing.T) {
	h := newServer(Config{PublicURL: "https://auth.example.com"}, nil, nil, testKeyring(t)).Handler()
	tests := []struct {
		path string
		want string
	}{
		{"/openapi.json", `"openapi":"3.0.3"`},
		{"/openapi.json", `"servers":[{"url":"https://auth.example.com"}]`},
		{"/healthz", `{"status":"ok"}`},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, tt.path, nil)
		r.Host = "auth.example.com"
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tt.want) ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			t.Errorf("GET %s = %d %s %.80q", tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	}
}
