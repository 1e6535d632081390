// Command eventload publishes numbered messages to a Kafka topic and
// receives what functions post back, for the no-loss test of the event
// triggers (test/events-noloss.bats):
//
//	eventload publish -brokers host:port -topic t -from 1 -to 10000
//	eventload receive -addr-file F -out received.log
//
// publish sends the messages {"n": i} for i from -from to -to and returns
// once the broker acknowledged every one (exit 1 otherwise). receive
// serves HTTP on a free port of 127.0.0.1, writes host:port to -addr-file
// once it listens, and appends each POST / body, as one line, to -out
// before it answers 200: the record lives outside the local engine's
// daemon, so it survives the daemon killed with SIGKILL. It runs until
// SIGTERM.
//
// A test holds the calls to make sure a kill lands while calls are in
// flight: after POST /hold the receiver keeps each POST / waiting, GET
// /held answers how many wait, and POST /release lets them go on; a held
// call whose caller went away meanwhile is not recorded (the function did
// not finish, its message must come again).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: eventload publish|receive [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "publish":
		err = publish(os.Args[2:])
	case "receive":
		err = receive(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "eventload: unknown command %q: give publish or receive\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "eventload:", err)
		os.Exit(1)
	}
}

func publish(args []string) error {
	fs := flag.NewFlagSet("publish", flag.ExitOnError)
	brokers := fs.String("brokers", "", "Kafka brokers, host:port,...")
	topic := fs.String("topic", "", "topic")
	from := fs.Int("from", 1, "first message number")
	to := fs.Int("to", 1, "last message number")
	_ = fs.Parse(args)
	if *brokers == "" || *topic == "" {
		return errors.New("publish: -brokers and -topic are required")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*brokers, ",")...), kgo.DefaultProduceTopic(*topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for i := *from; i <= *to; i++ {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, `{"n": %d}`, i)}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("publish to %s at %s: %w", *topic, *brokers, first)
	}
	return nil
}

func receive(args []string) error {
	fs := flag.NewFlagSet("receive", flag.ExitOnError)
	addrFile := fs.String("addr-file", "", "file that gets host:port once it listens")
	out := fs.String("out", "", "file that gets one line per POST body")
	_ = fs.Parse(args)
	if *addrFile == "" || *out == "" {
		return errors.New("receive: -addr-file and -out are required")
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	var (
		mu   sync.Mutex
		gate chan struct{} // not nil while holding; closed on release
		held int
	)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hold", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if gate == nil {
			gate = make(chan struct{})
		}
	})
	mux.HandleFunc("POST /release", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if gate != nil {
			close(gate)
			gate = nil
		}
	})
	mux.HandleFunc("GET /held", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, held)
	})
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		g := gate
		if g != nil {
			held++
		}
		mu.Unlock()
		if g != nil {
			select {
			case <-g:
			case <-r.Context().Done():
			}
			mu.Lock()
			held--
			mu.Unlock()
			if r.Context().Err() != nil {
				return // the caller is gone: not delivered
			}
		}
		line := append(bytes.TrimRight(body, "\n"), '\n')
		mu.Lock()
		_, err = f.Write(line) // one write(2) per line: the kernel has it once it returns
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	tmp := *addrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(l.Addr().String()+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *addrFile); err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = srv.Close()
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
