package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/flexauth/flexauth/store"
)

// TestMigrateFromReplicasAtOnce: every replica (api and worker, each with
// its replicas) migrates when it starts, and compose starts them together;
// each must wait its turn, not fail because another holds the lock.
func TestMigrateFromReplicasAtOnce(t *testing.T) {
	dsn := cluster.NewDatabase(t)
	ctx := context.Background()
	const replicas = 4
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i+1, err)
		}
	}
}
