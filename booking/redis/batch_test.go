package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/internal/servicetest"
)

// Every caller gets its own answer back, also when its call travelled in
// a pipeline with hundreds of others and Redis had forgotten the script.
func TestScriptBatcherAnswersEachCaller(t *testing.T) {
	servicetest.OnEachBackend(t, func(t *testing.T, backend servicetest.Backend) {
		rdb := servicetest.UniversalRedis(t, backend)
		b := &scriptBatcher{rdb: rdb}
		echo := goredis.NewScript(`return KEYS[1] .. '=' .. ARGV[1]`)
		ctx := context.Background()
		for round := 0; round < 3; round++ {
			if round == 1 {
				rdb.ScriptFlush(ctx)
			}
			var wg sync.WaitGroup
			for i := 0; i < 500; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("{batch%d}:k", i)
					v, err := b.run(ctx, echo, []string{key}, i)
					if want := fmt.Sprintf("%s=%d", key, i); err != nil || v != want {
						t.Errorf("call %d: %v %v, want %s", i, v, err, want)
					}
				}()
			}
			wg.Wait()
		}
		if b.flushing != 0 || len(b.pending) != 0 {
			t.Fatalf("batcher left %d flushing, %d pending", b.flushing, len(b.pending))
		}
	})
}
