package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// TestClientNodesFollowsPagesAndRetries429: Nodes returns every node over
// the pages, and a GET answered 429 is sent again after Retry-After.
func TestClientNodesFollowsPagesAndRetries429(t *testing.T) {
	var calls, shed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 1 { // every other request: too many in progress
			shed.Add(1)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(ErrorBody{Error: &Error{Code: CodeTooManyRequests, Message: "busy"}})
			return
		}
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		nl := NodeList{Index: 7, Sites: []Site{{ID: "s"}}, Total: 25}
		for i := after; i < min(after+10, 25); i++ {
			nl.Nodes = append(nl.Nodes, Node{NodeSpec: NodeSpec{ID: fmt.Sprintf("n%02d", i)}})
		}
		if after+10 < 25 {
			nl.Next = strconv.Itoa(after + 10)
		}
		_ = json.NewEncoder(w).Encode(nl)
	}))
	defer srv.Close()
	nl, err := NewClient(srv.URL, "").Nodes(context.Background(), "up", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(nl.Nodes) != 25 || nl.Nodes[24].ID != "n24" || nl.Total != 25 || nl.Next != "" || shed.Load() != 3 {
		t.Errorf("got %d nodes (last %v), total %d, next %q after %d 429s; want 25, n24, 25, \"\", 3", len(nl.Nodes), nl.Nodes[len(nl.Nodes)-1].ID, nl.Total, nl.Next, shed.Load())
	}
}
