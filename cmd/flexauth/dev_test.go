package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/freeport"
	"github.com/flexauth/flexauth/internal/syncbuf"
)

// TestDevSurvivesKill9 runs the real binary as a user would: `flexauth dev`,
// sets up a system and a user through the admin API, starts a passwordless
// attempt, kills the process with SIGKILL, starts it again on the same data
// folder, and completes the attempt begun before the kill.
func TestDevSurvivesKill9(t *testing.T) {
	bin := flexauthBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	url := "http://" + addr

	first, out := startDev(t, bin, addr, data)
	var keys devKeys
	raw, err := os.ReadFile(filepath.Join(data, "dev-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &keys); err != nil || keys.AppKey == "" || keys.AdminKey == "" || keys.Account == "" {
		t.Fatalf("dev-keys.json = %s (%v)", raw, err)
	}
	if !strings.Contains(out.String(), keys.AppKey) || !strings.Contains(out.String(), keys.AdminKey) {
		t.Fatalf("the keys were not printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Console: "+url+"/console/ — sign in as account dev, user admin") ||
		!strings.Contains(out.String(), "console's dev outbox in the same browser and confirm: that browser is signed in") {
		t.Fatalf("how to sign in to the console was not printed:\n%s", out.String())
	}
	// The console's administrator exists, and the dev outbox is served.
	call(t, url, "GET", "/v1/admin/users/admin/systems", keys.AdminKey, "", 200)
	// only to the console page's token, and only for the served Host.
	call(t, url, "GET", "/v1/admin/dev/outbox", "", "", 403)
	token := consoleDevToken(t, url)
	if status := devOutbox(t, url, "", token); status != 200 {
		t.Fatalf("dev outbox with the console page's token = %d", status)
	}
	_, port, _ := strings.Cut(addr, ":")
	if status := devOutbox(t, url, "localhost:"+port, token); status != 200 {
		t.Fatalf("dev outbox for Host localhost = %d", status)
	}
	if status := devOutbox(t, url, "rebound.evil.example:"+port, token); status != 421 {
		t.Fatalf("dev outbox for a rebound name = %d, want 421", status)
	}

	call(t, url, "POST", "/v1/admin/systems", keys.AdminKey, `{"name":"wiki","methods":["passwordless"],"sensitivity":"low","ttl_seconds":600}`, 201)
	call(t, url, "POST", "/v1/admin/users", keys.AdminKey, `{"authid":"alice","name":"Alice","email":"alice@example.com"}`, 201)
	call(t, url, "PUT", "/v1/admin/users/alice/systems", keys.AdminKey, `{"assignments":[{"system":"wiki","method":"passwordless"}]}`, 200)
	call(t, url, "POST", "/v1/admin/users", keys.AppKey, `{"authid":"mallory"}`, 403)
	call(t, url, "POST", "/v1/start", keys.AppKey, `{"system":"wiki","authid":"alice"}`, 200)
	link := waitLink(t, filepath.Join(data, "outbox.jsonl"))

	plugins := childProcesses(t, first.Process.Pid)
	if len(plugins) == 0 {
		t.Fatal("flexauth dev runs no plugin process")
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	// Its plugins see their host gone and exit rather than run on as
	// orphans.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		alive := 0
		for _, pid := range plugins {
			if processRuns(pid) {
				alive++
			}
		}
		if alive == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the killed dev's %d plugin processes still run 10 s later", alive, len(plugins))
		}
	}

	second, out2 := startDev(t, bin, addr, data)
	if !strings.Contains(out2.String(), keys.AdminKey) {
		t.Fatalf("a restart did not print the same keys:\n%s", out2.String())
	}
	call(t, url, "POST", "/v1/check", keys.AppKey, `{"system":"wiki","authid":"alice"}`, 202)
	// Temporal learns that the killed worker is gone only when its task or
	// activity times out; until then the page answers 503 "try again", and
	// the user does.
	var res *http.Response
	for deadline := time.Now().Add(90 * time.Second); ; {
		// The page's own form: flexauth takes a link only from it.
		req, err := http.NewRequest(http.MethodPost, link, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", url)
		if res, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirming the link after the restart = %d; flexauth said:\n%s", res.StatusCode, tail(out2.String(), 40))
	}
	call(t, url, "POST", "/v1/check", keys.AppKey, `{"system":"wiki","authid":"alice"}`, 200)

	_ = second.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Error("flexauth dev did not stop within 30s of SIGTERM")
		_ = second.Process.Kill()
	}
}

// built is the flexauth binary, built once for the tests that run it.
var built struct {
	once sync.Once
	path string
	err  error
}

func flexauthBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "flexauth-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "flexauth")
		build := exec.Command("go", "build", "-o", built.path, ".")
		build.Stderr = os.Stderr
		built.err = build.Run()
	})
	if built.err != nil {
		t.Fatalf("build flexauth: %v", built.err)
	}
	return built.path
}

func TestBuiltinPluginsRunAsTheirOwnProcesses(t *testing.T) {
	bin := flexauthBinary(t)
	cfg := filepath.Join(t.TempDir(), "plugins.json")
	dirFile := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(dirFile, []byte("authid,name,email,phone,groups\nalice,Alice,alice@example.com,,staff\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `{"plugins": [
		{"name": "box", "builtin": "outbox", "config": {"path": "` + filepath.Join(t.TempDir(), "o.jsonl") + `"}},
		{"name": "mail", "builtin": "smtp", "config": {"host": "127.0.0.1", "tls": "none", "from": "auth@example.com"}},
		{"name": "texts", "builtin": "sms", "config": {"account_sid": "AC123", "auth_token": "t", "from": "+15555550100", "base_url": "http://127.0.0.1:9"}},
		{"name": "hooks", "builtin": "webhook", "config": {"url": "http://127.0.0.1:9/hook", "secret": "` + strings.Repeat("s", 32) + `"}},
		{"name": "people", "kind": "identity", "builtin": "directory", "config": {"path": "` + dirFile + `"}}
	], "channels": {"email": "mail", "sms": "texts"}, "directory": "people"}`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "plugin", "list", "--plugins-config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("plugin list: %v\n%s", err, out)
	}
	for _, name := range []string{"outbox", "smtp", "sms", "webhook", "directory"} {
		if !strings.Contains(string(out), "ok: "+name+" ") {
			t.Errorf("built-in %s did not pass its check:\n%s", name, out)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// startDev starts `flexauth dev` with flags and waits until its API answers.
func startDev(t *testing.T, bin, addr, data string, flags ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"dev", "--addr", addr, "--data", data}, flags...)...)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK && strings.Contains(out.String(), "app key") {
				return cmd, out
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("flexauth dev did not come up within 2 minutes:\n%s", out.String())
	return nil, nil
}

func call(t *testing.T, url, method, path, key, body string, want int) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("apikey", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, raw, want)
	}
}

func waitLink(t *testing.T, outbox string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := os.Open(outbox); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var m struct{ Link string }
				if json.Unmarshal(sc.Bytes(), &m) == nil && m.Link != "" {
					f.Close()
					return m.Link
				}
			}
			f.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no link in the outbox within 30s")
	return ""
}

// syncBuffer collects output written from other goroutines.
type syncBuffer = syncbuf.Buffer

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// childProcesses are the pids whose parent is pid, from /proc.
func childProcesses(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(child); ok && ppid == pid {
			out = append(out, child)
		}
	}
	return out
}

// processRuns reports whether pid exists and is not a zombie.
func processRuns(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != "Z"
}

// procStat reads a process's parent and state from /proc/<pid>/stat.
func procStat(pid int) (ppid int, state string, ok bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after its closing parenthesis.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}
