package embedtemporal

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	temporalschema "go.temporal.io/server/schema"
)

// TestVisibilityIndexesKeepWhatListsUse: visibility-indexes.sql drops
// only indexes Temporal's visibility schema creates, and keeps those of
// the lists the Temporal UI and CLI show. A Temporal upgrade that adds or
// renames an index fails here, so that someone decides whether flexauth
// keeps it.
func TestVisibilityIndexesKeepWhatListsUse(t *testing.T) {
	raw, err := fs.ReadFile(temporalschema.Assets(), postgresVisibilitySchema+"/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for _, m := range regexp.MustCompile(`CREATE INDEX (\w+)`).FindAllStringSubmatch(string(raw), -1) {
		created = append(created, m[1])
	}
	var dropped []string
	for _, stmt := range visibilityIndexStatements() {
		name, ok := strings.CutPrefix(stmt, "DROP INDEX IF EXISTS ")
		if !ok || strings.ContainsAny(name, " ;") {
			t.Fatalf("statement %q is not a DROP INDEX IF EXISTS of one index", stmt)
		}
		if !slices.Contains(created, name) {
			t.Errorf("%s is not an index of Temporal's visibility schema", name)
		}
		dropped = append(dropped, name)
	}
	kept := slices.DeleteFunc(slices.Clone(created), func(n string) bool { return slices.Contains(dropped, n) })
	want := []string{"default_idx", "by_execution_time", "by_workflow_id", "by_workflow_type", "by_status", "by_task_queue"}
	slices.Sort(kept)
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
}
