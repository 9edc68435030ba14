package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/syncbuf"
)

// repoRoot is the checkout's root, where the guide's commands run.
const repoRoot = "../.."

// TestDeliveryPluginGuideWalkThrough follows the walk-through of
// docs/write-a-delivery-plugin.md step by step: build the example plugin
// into a fresh data folder's plugins/, route email to it in plugins.json
// with its settings, start `flexauth dev`, sign a user in through HTTP,
// and see the message arrive at the chat (the guide's stand-in listener)
// through the plugin, not in the outbox. Every command the test mirrors
// must appear in the guide word for word, so the two cannot drift apart.
func TestDeliveryPluginGuideWalkThrough(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "write-a-delivery-plugin.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(raw)
	// step returns the guide's text, failing when the guide lacks it.
	step := func(text string) string {
		t.Helper()
		if !strings.Contains(guide, text) {
			t.Fatalf("the guide no longer says:\n%s", text)
		}
		return text
	}
	root := t.TempDir()
	data := filepath.Join(root, "data")
	// sh runs one of the guide's commands from the checkout's root, with
	// the guide's data folder in this test's temporary folder.
	sh := func(line string) {
		t.Helper()
		args := strings.Fields(step(line))
		for i, a := range args {
			if a == "data" || strings.HasPrefix(a, "data/") {
				args[i] = filepath.Join(root, a)
			}
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
	}

	// 1. Build the example into the plugin folder, closed to others.
	sh("go build -o data/plugins/chat ./plugins/examples/chat")
	sh("chmod go-w data/plugins data/plugins/chat")

	// 2. The stand-in chat. The test builds it rather than `go run` it so
	// that it can stop it, and gives it a free port.
	step("go run ./plugins/examples/chat/listen -addr 127.0.0.1:9000 &")
	chatAddr := freeAddr(t)
	listenBin := filepath.Join(root, "listen")
	build := exec.Command("go", "build", "-o", listenBin, "./plugins/examples/chat/listen")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build listen: %v\n%s", err, out)
	}
	var chat syncbuf.Buffer
	listen := exec.Command(listenBin, "-addr", chatAddr)
	listen.Stdout = &chat
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = listen.Process.Kill(); _ = listen.Wait() })

	// 3. Route email to the plugin and give it its settings: the guide's
	// plugins.json, pointed at the test's chat.
	const heredoc = "cat > data/plugins.json <<'EOF'\n"
	step(heredoc)
	body, _, found := strings.Cut(guide[strings.Index(guide, heredoc)+len(heredoc):], "\nEOF\n")
	if !found || !strings.Contains(body, "127.0.0.1:9000") {
		t.Fatalf("the guide's plugins.json is not a heredoc naming the listener:\n%s", body)
	}
	if err := os.WriteFile(filepath.Join(data, "plugins.json"), []byte(strings.ReplaceAll(body, "127.0.0.1:9000", chatAddr)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// 4. Start flexauth dev on the data folder.
	step("go run ./cmd/flexauth dev --data data &")
	addr := freeAddr(t)
	url := "http://" + addr
	dev, devOut := startDev(t, flexauthBinary(t), addr, data)
	t.Cleanup(func() { _ = dev.Process.Kill(); _ = dev.Wait() })
	if !strings.Contains(devOut.String(), "plugin is unpinned") {
		t.Errorf("flexauth dev did not say the plugin is unpinned:\n%s", devOut.String())
	}

	// 5. A sign-in: the guide's calls, with its keys.
	var keys devKeys
	rawKeys, err := os.ReadFile(filepath.Join(data, "dev-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rawKeys, &keys); err != nil {
		t.Fatal(err)
	}
	call(t, url, "POST", "/v1/admin/systems", keys.AdminKey, step(`{"name":"wiki","methods":["passwordless"],"sensitivity":"low","ttl_seconds":300}`), 201)
	call(t, url, "POST", "/v1/admin/users", keys.AdminKey, step(`{"authid":"alice","name":"Alice","email":"alice@example.com"}`), 201)
	call(t, url, "PUT", "/v1/admin/users/alice/systems", keys.AdminKey, step(`{"assignments":[{"system":"wiki","method":"passwordless"}]}`), 200)
	step(`$URL/v1/start`)
	call(t, url, "POST", "/v1/start", keys.AppKey, step(`{"system":"wiki","authid":"alice"}`), 200)

	// 6. The chat shows the message the plugin posted, with the link.
	step("@alice@example.com Open this link to sign in to wiki:")
	linkRE := regexp.MustCompile(regexp.QuoteMeta(url+"/l/") + `\S+`)
	var link string
	for deadline := time.Now().Add(60 * time.Second); link == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no message reached the chat within 60s; chat:\n%s\nflexauth:\n%s", chat.String(), tail(devOut.String(), 40))
		}
		link = linkRE.FindString(chat.String())
	}
	if !strings.HasPrefix(chat.String(), "@alice@example.com Open this link to sign in to wiki:") {
		t.Errorf("the chat shows:\n%s", chat.String())
	}
	if raw, err := os.ReadFile(filepath.Join(data, "outbox.jsonl")); err == nil && strings.Contains(string(raw), "alice@example.com") {
		t.Errorf("alice's message went to the outbox too:\n%s", raw)
	}
	step(`curl -s -X POST -H "Origin: $URL" `)
	confirm, err := http.NewRequest(http.MethodPost, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	confirm.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	confirm.Header.Set("Origin", url)
	res, err := http.DefaultClient.Do(confirm)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirming the link = %d", res.StatusCode)
	}
	step(`# {"result":"authenticated"}`)
	call(t, url, "POST", "/v1/check", keys.AppKey, `{"system":"wiki","authid":"alice"}`, 200)

	// 7. plugin list says the plugin is unpinned, and it passes its check.
	args := strings.Fields(step("go run ./cmd/flexauth plugin list --plugins data/plugins --plugins-config data/plugins.json"))[3:]
	for i, a := range args {
		if strings.HasPrefix(a, "data/") {
			args[i] = filepath.Join(root, a)
		}
	}
	out, err := exec.Command(flexauthBinary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("plugin list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "chat: "+filepath.Join(data, "plugins", "chat")+" (UNPINNED: no sha256 configured; delivers email)") ||
		!strings.Contains(string(out), "ok: chat 1.0.0") {
		t.Fatalf("plugin list:\n%s", out)
	}
}
