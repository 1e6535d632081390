package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/kubeless/kubeless/internal/engine/store"
	"github.com/kubeless/kubeless/internal/events"
)

// EnvNATSURL names an outside NATS server that the daemon uses as its event
// bus instead of the one it embeds.
const EnvNATSURL = "KUBELESS_NATS_URL"

// busKey is where the state keeps the embedded NATS server's port, so that
// it listens on the same port after a restart.
const busKey = "events/bus"

// busState is what busKey holds.
type busState struct {
	Port int `json:"port"`
}

// startBus sets e.busURL: the outside NATS server of Options.NATSURL (or
// $KUBELESS_NATS_URL), or else a NATS server it starts in process on
// 127.0.0.1, on the port recorded in the state (a free one the first time,
// or when the recorded one is taken). The returned function stops the
// embedded server.
func (e *Engine) startBus(st store.Store) (stop func(), err error) {
	url := e.opts.NATSURL
	if url == "" {
		url = os.Getenv(EnvNATSURL)
	}
	if url != "" {
		e.busURL = url
		e.logger.Info("event bus: outside NATS server", "url", url)
		return func() {}, nil
	}
	var bs busState
	if b, err := st.Get(busKey); err == nil {
		if err := json.Unmarshal(b, &bs); err != nil {
			e.logger.Warn("unreadable event bus state; choosing a new port", "err", err)
			bs.Port = 0
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		e.logger.Warn("read event bus state; choosing a new port", "err", err)
	}
	if bs.Port != 0 && !portFree(bs.Port) {
		e.logger.Warn("the event bus's port is taken; choosing a new one", "port", bs.Port)
		bs.Port = 0
	}
	srv, err := events.StartNATSServer("127.0.0.1", bs.Port)
	if err != nil {
		return nil, fmt.Errorf("%w (give an outside server with %s=nats://host:port)", err, EnvNATSURL)
	}
	port := srv.Port()
	if port != bs.Port {
		b, _ := json.Marshal(busState{Port: port})
		if err := st.Put(busKey, b); err != nil {
			e.logger.Warn("record the event bus's port", "err", err)
		}
	}
	e.busURL = srv.URL()
	e.logger.Info("event bus: embedded NATS server", "url", e.busURL)
	return srv.Shutdown, nil
}

// portFree says whether 127.0.0.1:port can be listened on now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// EventBus is the URL of the engine's event bus once Ready: the embedded
// NATS server's, or the outside one's.
func (e *Engine) EventBus() string { return e.busURL }
