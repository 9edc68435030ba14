// Command listen stands in for a chat while you try the example plugin of
// docs/write-a-delivery-plugin.md: it takes incoming-webhook posts
// ({"text": "..."}, what flexauth-chat sends) and prints each message's
// text on its standard output, followed by an empty line.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"sync"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	var mu sync.Mutex // one message printed at a time
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&msg); err != nil || msg.Text == "" {
			http.Error(w, `want {"text": "..."}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		fmt.Printf("%s\n\n", msg.Text)
		mu.Unlock()
	})
	log.Printf("chat listening on http://%s/", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
