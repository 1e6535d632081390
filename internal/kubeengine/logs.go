package kubeengine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// pods returns the pods of function ns/name (label function=<name>),
// sorted by name.
func (e *Engine) pods(ctx context.Context, ns, name string) ([]corev1.Pod, error) {
	sel := labels.Set{v1beta1.LabelFunction: name}.String()
	l, err := e.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, e.apiError(err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items, nil
}

// functionContainer is the pod's container that runs the function: the one
// named like it, else the first.
func functionContainer(p *corev1.Pod, name string) *corev1.Container {
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == name {
			return &p.Spec.Containers[i]
		}
	}
	if len(p.Spec.Containers) > 0 {
		return &p.Spec.Containers[0]
	}
	return nil
}

// Logs implements backend.Engine: the output of the function container of
// every started pod of the function (label function=<name>). With one pod
// the lines come as they are; with several each line starts with
// "[pod/<pod>/<container>] " as kubectl logs --prefix does, the pods one
// after the other (by name), or, with Follow, interleaved as they come.
func (e *Engine) Logs(ctx context.Context, namespace, name string, opts backend.LogOptions, line func(string)) error {
	ns := e.ns(namespace)
	if _, err := e.Get(ctx, ns, name); err != nil {
		return err
	}
	all, err := e.pods(ctx, ns, name)
	if err != nil {
		return err
	}
	type source struct{ pod, container string }
	var srcs []source
	for i := range all {
		p := &all[i]
		if p.Status.Phase == corev1.PodPending { // no container has started
			continue
		}
		c := functionContainer(p, name)
		if c == nil {
			continue
		}
		srcs = append(srcs, source{p.Name, c.Name})
	}
	if len(srcs) == 0 {
		return backend.Errorf(backend.CodeUnavailable, "No function pod is running: function %q in namespace %q has no started pod (see kubeless function describe %s)", name, ns, name)
	}
	var mu sync.Mutex
	emit := func(s source) func(string) {
		prefix := ""
		if len(srcs) > 1 {
			prefix = "[pod/" + s.pod + "/" + s.container + "] "
		}
		return func(l string) {
			mu.Lock()
			defer mu.Unlock()
			line(prefix + l)
		}
	}
	stream := func(s source) error {
		lo := &corev1.PodLogOptions{Container: s.container, Follow: opts.Follow}
		if opts.Tail >= 0 {
			n := int64(opts.Tail)
			lo.TailLines = &n
		}
		rc, err := e.cs.CoreV1().Pods(ns).GetLogs(s.pod, lo).Stream(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("logs of pod %s: %w", s.pod, e.apiError(err))
		}
		defer rc.Close()
		return scanLines(ctx, rc, emit(s))
	}
	if !opts.Follow {
		for _, s := range srcs {
			if err := stream(s); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, s := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stream(s)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func scanLines(ctx context.Context, r io.Reader, line func(string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line(sc.Text())
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read logs: %w", err)
	}
	return nil
}
