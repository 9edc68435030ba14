// Command load drives a running flexauth through whole PIN sign-ins (start,
// a few polls, the code read from the dev outbox, check with the code) and
// reports throughput and latency percentiles. It targets `flexauth dev`:
//
//	go run ./cmd/flexauth dev --data /tmp/fa &
//	go run ./bench/load -data /tmp/fa -duration 30s -concurrency 8
//
// Only loopback targets make sense here: the tool reads the outbox file.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/flexauth/flexauth/internal/outboxtail"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

type keys struct {
	AppKey   string `json:"app_key"`
	AdminKey string `json:"admin_key"`
}

func run() error {
	url := flag.String("url", "http://127.0.0.1:8080", "flexauth API")
	data := flag.String("data", "./data", "the data folder of `flexauth dev` (keys and outbox)")
	users := flag.Int("users", 300, "users to sign in in turn (starts are rate-limited per user)")
	concurrency := flag.Int("concurrency", 8, "sign-ins in flight")
	duration := flag.Duration("duration", 20*time.Second, "how long to run")
	flag.Parse()

	raw, err := os.ReadFile(filepath.Join(*data, "dev-keys.json"))
	if err != nil {
		return err
	}
	var k keys
	if err := json.Unmarshal(raw, &k); err != nil {
		return err
	}
	c := &client{url: *url, keys: k, http: &http.Client{Timeout: 30 * time.Second}}
	if err := c.setup(*users); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	codes := outboxtail.New(filepath.Join(*data, "outbox.jsonl"))

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var mu sync.Mutex
	var starts, checks, logins []time.Duration
	failures := 0
	next := make(chan int)
	go func() {
		defer close(next)
		for i := 0; ; i++ {
			select {
			case next <- i % *users:
			case <-ctx.Done():
				return
			}
		}
	}()
	began := time.Now()
	var wg sync.WaitGroup
	for range *concurrency {
		wg.Go(func() {
			for u := range next {
				s, cs, total, err := c.signIn(ctx, codes, fmt.Sprintf("bench-%d", u))
				mu.Lock()
				if err != nil {
					if ctx.Err() == nil {
						failures++
					}
				} else {
					starts, checks, logins = append(starts, s), append(checks, cs...), append(logins, total)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	fmt.Printf("%d sign-ins in %s: %.1f/s, %d failed, concurrency %d\n", len(logins), elapsed.Round(time.Millisecond),
		float64(len(logins))/elapsed.Seconds(), failures, *concurrency)
	report("start", starts)
	report("check (poll)", checks)
	report("whole sign-in", logins)
	return nil
}

func report(name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	p := func(q float64) time.Duration { return ds[int(q*float64(len(ds)-1))].Round(10 * time.Microsecond) }
	fmt.Printf("  %-14s n=%-6d p50 %-10s p95 %-10s p99 %-10s max %s\n", name, len(ds), p(0.50), p(0.95), p(0.99), ds[len(ds)-1].Round(10*time.Microsecond))
}

type client struct {
	url  string
	keys keys
	http *http.Client
}

func (c *client) post(ctx context.Context, method, path, key string, body any) (int, map[string]any, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("apikey", key)
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out := map[string]any{}
	b, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(b, &out)
	return res.StatusCode, out, nil
}

// setup creates the bench system and users; existing ones are kept.
func (c *client) setup(users int) error {
	ctx := context.Background()
	status, _, err := c.post(ctx, http.MethodPost, "/v1/admin/systems", c.keys.AdminKey,
		map[string]any{"name": "bench", "methods": []string{"pin"}, "sensitivity": "low", "ttl_seconds": 300})
	if err != nil || (status != http.StatusCreated && status != http.StatusConflict) {
		return fmt.Errorf("create system: %d %w", status, err)
	}
	for i := range users {
		authid := fmt.Sprintf("bench-%d", i)
		status, _, err := c.post(ctx, http.MethodPost, "/v1/admin/users", c.keys.AdminKey,
			map[string]any{"authid": authid, "email": authid + "@bench.example"})
		if err != nil || (status != http.StatusCreated && status != http.StatusConflict) {
			return fmt.Errorf("create user: %d %w", status, err)
		}
		status, _, err = c.post(ctx, http.MethodPut, "/v1/admin/users/"+authid+"/systems", c.keys.AdminKey,
			map[string]any{"assignments": []map[string]string{{"system": "bench", "method": "pin"}}})
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("assign: %d %w", status, err)
		}
	}
	return nil
}

// signIn runs one sign-in: start, three polls, the code, check.
func (c *client) signIn(ctx context.Context, codes *outboxtail.Outbox, authid string) (time.Duration, []time.Duration, time.Duration, error) {
	subject := map[string]any{"system": "bench", "authid": authid}
	t0 := time.Now()
	status, out, err := c.post(ctx, http.MethodPost, "/v1/start", c.keys.AppKey, subject)
	if err != nil || status != http.StatusOK {
		return 0, nil, 0, fmt.Errorf("start: %d %v %w", status, out, err)
	}
	start := time.Since(t0)
	attempt, _ := out["attempt"].(string)
	var polls []time.Duration
	for range 3 {
		t := time.Now()
		if status, out, err = c.post(ctx, http.MethodPost, "/v1/check", c.keys.AppKey, subject); err != nil || status != http.StatusAccepted {
			return 0, nil, 0, fmt.Errorf("poll: %d %v %w", status, out, err)
		}
		polls = append(polls, time.Since(t))
	}
	code, err := codes.Code(ctx, attempt)
	if err != nil {
		return 0, nil, 0, err
	}
	subject["pin"] = code
	if status, out, err = c.post(ctx, http.MethodPost, "/v1/check", c.keys.AppKey, subject); err != nil || status != http.StatusOK {
		return 0, nil, 0, fmt.Errorf("check with code: %d %v %w", status, out, err)
	}
	return start, polls, time.Since(t0), nil
}
