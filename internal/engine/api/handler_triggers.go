package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"unicode"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// moreRoutes are the endpoints of TriggerBackend: metrics, autoscaling,
// and the same five for each trigger kind, under /v1/<resource>.
func moreRoutes() map[string]func(*Handler, http.ResponseWriter, *http.Request) error {
	routes := map[string]func(*Handler, http.ResponseWriter, *http.Request) error{
		"GET /v1/metrics":                          (*Handler).serveTopAll,
		"GET /v1/functions/{ns}/{name}/metrics":    (*Handler).serveTop,
		"PUT /v1/functions/{ns}/{name}/autoscaler": (*Handler).serveSetAutoscaler,
	}
	for _, k := range v1beta1.TriggerKinds() {
		tr := triggerRoutes{k}
		all, one := "/v1/"+k.Resource, "/v1/"+k.Resource+"/{ns}/{name}"
		routes["GET "+all] = tr.list
		routes["POST "+all] = tr.create
		routes["GET "+one] = tr.get
		routes["PUT "+one] = tr.update
		routes["DELETE "+one] = tr.delete
	}
	return routes
}

func readJSON(r *http.Request, v any, what string) error {
	if err := json.NewDecoder(io.LimitReader(r.Body, MaxBody)).Decode(v); err != nil {
		return backend.Errorf(backend.CodeInvalid, "request body is not %s: %v", what, err)
	}
	return nil
}

// answer writes v (or err) with status.
func answer(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

func (h *Handler) serveTopAll(w http.ResponseWriter, r *http.Request) error {
	rows, err := h.b.Top(r.Context(), r.URL.Query().Get("namespace"), "")
	if rows == nil {
		rows = []backend.FunctionMetrics{}
	}
	return answer(w, http.StatusOK, rows, err)
}

func (h *Handler) serveTop(w http.ResponseWriter, r *http.Request) error {
	rows, err := h.b.Top(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if rows == nil {
		rows = []backend.FunctionMetrics{}
	}
	return answer(w, http.StatusOK, rows, err)
}

func (h *Handler) serveSetAutoscaler(w http.ResponseWriter, r *http.Request) error {
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	if err := readJSON(r, &hpa, "a HorizontalPodAutoscaler or null"); err != nil {
		return err
	}
	fn, err := h.b.SetAutoscaler(r.Context(), r.PathValue("ns"), r.PathValue("name"), hpa)
	return answer(w, http.StatusOK, fn, err)
}

// triggerRoutes serve the triggers of one kind.
type triggerRoutes struct{ kind *v1beta1.TriggerKind }

// what is the kind with its indefinite article of the kind's name in messages ("an
// HTTPTrigger", "a CronJobTrigger"): an initialism whose first letter's
// name starts with a vowel sound takes "an".
func (tr triggerRoutes) what() string {
	if strings.ContainsRune("AEFHILMNORSX", rune(tr.kind.Kind[0])) && len(tr.kind.Kind) > 1 && unicode.IsUpper(rune(tr.kind.Kind[1])) ||
		strings.ContainsRune("AEIOU", rune(tr.kind.Kind[0])) {
		return "an " + tr.kind.Kind
	}
	return "a " + tr.kind.Kind
}

func (tr triggerRoutes) read(r *http.Request) (v1beta1.Trigger, error) {
	t := tr.kind.New()
	return t, readJSON(r, t, tr.what())
}

func (tr triggerRoutes) list(h *Handler, w http.ResponseWriter, r *http.Request) error {
	ts, err := h.b.Triggers(tr.kind).List(r.Context(), r.URL.Query().Get("namespace"))
	if ts == nil {
		ts = []v1beta1.Trigger{}
	}
	return answer(w, http.StatusOK, ts, err)
}

func (tr triggerRoutes) create(h *Handler, w http.ResponseWriter, r *http.Request) error {
	t, err := tr.read(r)
	if err != nil {
		return err
	}
	out, err := h.b.Triggers(tr.kind).Create(r.Context(), t)
	return answer(w, http.StatusCreated, out, err)
}

func (tr triggerRoutes) get(h *Handler, w http.ResponseWriter, r *http.Request) error {
	out, err := h.b.Triggers(tr.kind).Get(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	return answer(w, http.StatusOK, out, err)
}

func (tr triggerRoutes) update(h *Handler, w http.ResponseWriter, r *http.Request) error {
	t, err := tr.read(r)
	if err != nil {
		return err
	}
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if (t.GetName() != "" && t.GetName() != name) || (t.GetNamespace() != "" && t.GetNamespace() != ns) {
		return backend.Errorf(backend.CodeInvalid, "body names %s/%s but the path names %s/%s", t.GetNamespace(), t.GetName(), ns, name)
	}
	t.SetName(name)
	t.SetNamespace(ns)
	out, err := h.b.Triggers(tr.kind).Update(r.Context(), t)
	return answer(w, http.StatusOK, out, err)
}

func (tr triggerRoutes) delete(h *Handler, w http.ResponseWriter, r *http.Request) error {
	if err := h.b.Triggers(tr.kind).Delete(r.Context(), r.PathValue("ns"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
