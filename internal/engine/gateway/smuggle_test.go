package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serveRaw serves g with the gateway's server and returns its address.
func serveRaw(t *testing.T, g *Gateway) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(g, ServerOptions{})
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return l.Addr().String()
}

// exchange writes raw on a new connection and reads the answers until the
// gateway closes it or `want` answers arrived.
func exchange(t *testing.T, addr, raw string, want int) (answers []*http.Response, bodies []string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for len(answers) < want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return answers, bodies, true
		}
		b, _ := io.ReadAll(resp.Body)
		answers = append(answers, resp)
		bodies = append(bodies, string(b))
	}
	_, err = br.ReadByte()
	return answers, bodies, err == io.EOF
}

// A request with both Content-Length and Transfer-Encoding gets 400 and the
// connection is closed: the request smuggled behind it is never answered.
func TestContentLengthWithTransferEncodingRefused(t *testing.T) {
	a := echoBackend(t, "A")
	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{{Name: "f", Backends: urls(a.URL)}, {Name: "admin", Backends: urls(a.URL)}}})
	addr := serveRaw(t, g)
	host := "Host: " + addr + "\r\n"
	for _, cl := range []string{"Content-Length", "content-length", "CONTENT-LENGTH"} {
		raw := "POST /f HTTP/1.1\r\n" + host + cl + ": 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"0\r\n\r\n" +
			"GET /admin HTTP/1.1\r\n" + host + "\r\n"
		answers, bodies, closed := exchange(t, addr, raw, 2)
		if len(answers) != 1 || answers[0].StatusCode != 400 || !closed ||
			bodies[0] != "the request has both Content-Length and Transfer-Encoding: send only one of them\n" {
			t.Errorf("%s + Transfer-Encoding: %d answers (%v), closed %v", cl, len(answers), bodies, closed)
		}
	}
}

// The framing the wrapper follows keeps ordinary pipelined requests intact:
// a Content-Length body, a chunked body with a trailer and extensions whose
// data looks like a request head, then a GET.
func TestPipelinedRequestsPassTheFraming(t *testing.T) {
	a := echoBackend(t, "A")
	g := New(Options{})
	g.SetRoutes(Routes{Functions: []Function{{Name: "f", Backends: urls(a.URL)}}})
	addr := serveRaw(t, g)
	host := "Host: " + addr + "\r\n"
	fake := "GET /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	big := strings.Repeat("b", 256<<10)
	raw := "POST /f/big HTTP/1.1\r\n" + host + "Content-Length: 262144\r\n\r\n" + big +
		"POST /f/one HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello" +
		"POST /f/two HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n" +
		strings.ToUpper(strconvHex(len(fake))) + ";ext=1\r\n" + fake + "\r\n0\r\nX-Trailer: t\r\n\r\n" +
		"\r\nGET /f/three HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n"
	answers, bodies, _ := exchange(t, addr, raw, 4)
	want := []string{"A POST /big body=" + big, "A POST /one body=hello", "A POST /two body=" + fake, "A GET /three"}
	if len(answers) != 4 {
		t.Fatalf("%d answers: %q", len(answers), bodies)
	}
	for i := range want {
		if answers[i].StatusCode != 200 || bodies[i] != want[i] {
			t.Errorf("answer %d: %d %.80q, want %.80q", i, answers[i].StatusCode, bodies[i], want[i])
		}
	}
}

func strconvHex(n int) string {
	const digits = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 16 {
		b = append([]byte{digits[n%16]}, b...)
	}
	return string(b)
}
