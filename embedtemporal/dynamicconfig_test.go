package embedtemporal

import (
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
)

// flexauth's task queue has one partition; others keep Temporal's default.
func TestDynamicConfigGivesFlexauthsQueueOnePartition(t *testing.T) {
	dc, err := dynamicConfig()
	if err != nil {
		t.Fatal(err)
	}
	col := dynamicconfig.NewCollection(dc, log.NewNoopLogger())
	for _, setting := range []dynamicconfig.TaskQueueIntConstrainedDefaultSetting{
		dynamicconfig.MatchingNumTaskqueueReadPartitions, dynamicconfig.MatchingNumTaskqueueWritePartitions,
	} {
		get := setting.Get(col)
		if got := get("default", "flexauth-attempts", enumspb.TASK_QUEUE_TYPE_WORKFLOW); got != 1 {
			t.Errorf("%s for flexauth-attempts = %d, want 1", setting.Key(), got)
		}
		if got := get("default", "another-queue", enumspb.TASK_QUEUE_TYPE_WORKFLOW); got == 1 {
			t.Errorf("%s for another queue = 1: the constraint was lost", setting.Key())
		}
	}
}
