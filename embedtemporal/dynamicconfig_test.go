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

// The history service's workflow cache is bounded well below Temporal's
// default of 128,000 workflows, so that pending attempts do not each keep
// their mutable state in the server's memory.
func TestDynamicConfigBoundsTheHistoryCache(t *testing.T) {
	dc, err := dynamicConfig()
	if err != nil {
		t.Fatal(err)
	}
	col := dynamicconfig.NewCollection(dc, log.NewNoopLogger())
	if dynamicconfig.HistoryCacheSizeBasedLimit.Get(col)() {
		t.Errorf("%s = true: the cache is bounded by its own size estimate, not by %s", dynamicconfig.HistoryCacheSizeBasedLimit.Key(), dynamicconfig.HistoryCacheHostLevelMaxSize.Key())
	}
	if got := dynamicconfig.HistoryCacheHostLevelMaxSize.Get(col)(); got <= 0 || got > 16384 {
		t.Errorf("%s = %d, want a bound of at most 16384", dynamicconfig.HistoryCacheHostLevelMaxSize.Key(), got)
	}
}
