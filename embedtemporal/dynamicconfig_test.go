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

// The history service's workflow cache is bounded by size, so that
// pending attempts do not each keep their mutable state in memory.
func TestDynamicConfigBoundsTheHistoryCacheBySize(t *testing.T) {
	dc, err := dynamicConfig()
	if err != nil {
		t.Fatal(err)
	}
	col := dynamicconfig.NewCollection(dc, log.NewNoopLogger())
	if !dynamicconfig.HistoryCacheSizeBasedLimit.Get(col)() {
		t.Errorf("%s = false: the cache is bounded by entries (Temporal's default 128,000)", dynamicconfig.HistoryCacheSizeBasedLimit.Key())
	}
	const most = 512 << 20
	if got := dynamicconfig.HistoryCacheHostLevelMaxSizeBytes.Get(col)(); got <= 0 || got > most {
		t.Errorf("%s = %d, want a bound of at most %d", dynamicconfig.HistoryCacheHostLevelMaxSizeBytes.Key(), got, most)
	}
}
