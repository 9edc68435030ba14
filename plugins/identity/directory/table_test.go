package directory

import (
	"reflect"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func TestParseReadsUsers(t *testing.T) {
	tests := []struct {
		name string
		path string
		data string
		// want maps "account/authid" lookups to their result.
		want map[string]sdk.Identity
	}{
		{
			name: "csv with every column, extra columns as attributes",
			path: "users.csv",
			data: "authid,name,email,phone,groups,department,location\n" +
				"ada,Ada Lovelace,ada@example.com,+15550100,admins; engineering ;,Research,London\n" +
				"bob,Bob,,,,,\n",
			want: map[string]sdk.Identity{
				"/ada": {Found: true, Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+15550100",
					Groups: []string{"admins", "engineering"}, Attributes: map[string]string{"department": "Research", "location": "London"}},
				"acme/bob": {Found: true, Name: "Bob"},
				"/Ada":     {},
			},
		},
		{
			name: "csv headers in any case and order, a byte order mark, quoted cells",
			path: "users.CSV",
			data: "\uFEFFEmail,AuthID, Name ,Notes\n" +
				"ada@example.com,ada,\"Lovelace, Ada\",\"two\nlines\"\n",
			want: map[string]sdk.Identity{
				"/ada": {Found: true, Name: "Lovelace, Ada", Email: "ada@example.com", Attributes: map[string]string{"Notes": "two\nlines"}},
			},
		},
		{
			name: "csv account column scopes rows; the account's own row wins",
			path: "users.csv",
			data: "authid,account,name\nbob,,Bob everywhere\nbob,acme,Bob at Acme\ncarol,acme,Carol\n",
			want: map[string]sdk.Identity{
				"acme/bob":     {Found: true, Name: "Bob at Acme"},
				"globex/bob":   {Found: true, Name: "Bob everywhere"},
				"/bob":         {Found: true, Name: "Bob everywhere"},
				"acme/carol":   {Found: true, Name: "Carol"},
				"globex/carol": {},
				"/carol":       {},
			},
		},
		{
			name: "csv with only a header holds nobody",
			path: "users.csv",
			data: "authid\n",
			want: map[string]sdk.Identity{"/ada": {}},
		},
		{
			name: "json with every field",
			path: "users.json",
			data: `[
  {"authid": "ada", "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+15550100",
   "groups": ["admins", "", "engineering"], "attributes": {"department": "Research"}},
  {"authid": "bob", "account": "acme", "name": "Bob at Acme"},
  {"authid": "bob", "name": "Bob everywhere"}
]`,
			want: map[string]sdk.Identity{
				"/ada": {Found: true, Name: "Ada Lovelace", Email: "ada@example.com", Phone: "+15550100",
					Groups: []string{"admins", "engineering"}, Attributes: map[string]string{"department": "Research"}},
				"acme/bob":   {Found: true, Name: "Bob at Acme"},
				"globex/bob": {Found: true, Name: "Bob everywhere"},
				"/BOB":       {},
			},
		},
		{
			name: "json empty array holds nobody",
			path: "users.json",
			data: " [ ] \n",
			want: map[string]sdk.Identity{"/ada": {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := parse(tt.path, []byte(tt.data))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for q, want := range tt.want {
				account, authid, _ := strings.Cut(q, "/")
				var got sdk.Identity
				if u, ok := tab.lookup(account, authid); ok {
					got = u.identity()
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("lookup(%q, %q) = %+v\nwant %+v", account, authid, got, want)
				}
			}
		})
	}
}

func TestParseRefusesBadFilesNamingTheLine(t *testing.T) {
	tests := []struct {
		name string
		path string
		data string
		want string // a part of the error
	}{
		{"csv without an authid column", "u.csv", "name,email\nAda,ada@example.com\n", `line 1: no "authid" column`},
		{"empty csv", "u.csv", "", "line 1: no header row"},
		{"csv with a nameless column", "u.csv", "authid,,email\nada,x,y\n", "line 1: column 2 has no name"},
		{"csv with a column twice", "u.csv", "authid,Email,email\nada,x,y\n", `line 1: column "email" appears twice`},
		{"csv row without an authid", "u.csv", "authid,name\nada,Ada\n,Nobody\n", "line 3: authid is empty"},
		{"csv duplicate authid", "u.csv", "authid,name\nada,Ada\nbob,Bob\nada,Ada again\n", `line 4: authid "ada" appears twice (first on line 2)`},
		{"csv duplicate authid within one account", "u.csv", "authid,account\nada,acme\nada,\nada,acme\n", `line 4: authid "ada" appears twice for account "acme" (first on line 2)`},
		{"csv row with too many cells", "u.csv", "authid,name\nada,Ada\nbob,Bob,extra\n", "line 3"},
		{"csv bare quote", "u.csv", "authid,name\nada,Ada \"the\" first\n", "line 2"},
		{"json that is not an array", "u.json", `{"authid": "ada"}`, `line 1: want "[", got {: the file must be an array of users`},
		{"malformed json", "u.json", "[\n  {\"authid\": \"ada\"},\n  {\"authid\": \"bob\",}\n]", "line 3"},
		{"truncated json", "u.json", "[\n  {\"authid\": \"ada\"}", "line 2"},
		{"empty json", "u.json", "", "line 1"},
		{"json unknown field", "u.json", "[\n  {\"authid\": \"ada\"},\n  {\"authid\": \"bob\", \"group\": [\"x\"]}\n]", `line 3: json: unknown field "group"`},
		{"json attribute that is not a string", "u.json", "[\n\n  {\"authid\": \"ada\", \"attributes\": {\"level\": 3}}]", "line 3"},
		{"json element without authid", "u.json", "[\n  {\"authid\": \"ada\"},\n  {\"name\": \"Nobody\"}\n]", "line 3: authid is empty"},
		{"json duplicate authid", "u.json", "[\n  {\"authid\": \"ada\"},\n  {\"authid\": \"ada\"}\n]", `line 3: authid "ada" appears twice (first on line 2)`},
		{"json data after the array", "u.json", "[]\n[]", "line 2: unexpected data after the array"},
		{"unknown extension", "u.txt", "authid\nada\n", "want a .csv or .json file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.path, []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLookupResultDoesNotShareTheTable(t *testing.T) {
	tab, err := parse("u.csv", []byte("authid,groups,dept\nada,admins,r\n"))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := tab.lookup("", "ada")
	id := u.identity()
	id.Groups[0], id.Attributes["dept"] = "root", "x"
	u, _ = tab.lookup("", "ada")
	if again := u.identity(); again.Groups[0] != "admins" || again.Attributes["dept"] != "r" {
		t.Fatalf("a caller changed the table: %+v", again)
	}
}
