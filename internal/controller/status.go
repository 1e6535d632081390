package controller

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// imageReasons are the waiting reasons of a container whose image cannot be
// had.
var imageReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"ErrImageNeverPull": true, "ImageInspectError": true,
}

// podsCondition is the Ready condition of a function whose Deployment is d
// and whose pods are pods: True when every wanted pod is ready on the
// current template, else False with the first thing that keeps a pod from
// starting (an image that cannot be pulled, an init container that failed,
// a container that keeps exiting), else Unknown while pods start.
func podsCondition(d *appsv1.Deployment, pods []corev1.Pod) metav1.Condition {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	current := st.ObservedGeneration >= d.Generation
	if current && st.UpdatedReplicas >= want && st.ReadyReplicas >= want && st.Replicas == st.UpdatedReplicas {
		msg := fmt.Sprintf("%d/%d pods ready", st.ReadyReplicas, want)
		return metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonReady, Message: msg}
	}
	// Newest pods first: they run the current template.
	sort.SliceStable(pods, func(i, j int) bool {
		return pods[j].CreationTimestamp.Before(&pods[i].CreationTimestamp)
	})
	for i := range pods {
		if c, bad := podProblem(&pods[i]); bad {
			return c
		}
	}
	msg := fmt.Sprintf("%d/%d pods ready", st.ReadyReplicas, want)
	if !current {
		msg = "waiting for the Deployment to be rolled out"
	}
	return metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionUnknown, Reason: v1beta1.ReasonReconciling, Message: msg}
}

// podProblem finds why pod cannot run, if it is one of the reasons of
// api/v1beta1.
func podProblem(pod *corev1.Pod) (metav1.Condition, bool) {
	bad := func(reason, format string, args ...any) (metav1.Condition, bool) {
		return metav1.Condition{Type: v1beta1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason,
			Message: fmt.Sprintf("pod %s: ", pod.Name) + fmt.Sprintf(format, args...)}, true
	}
	if pod.DeletionTimestamp != nil {
		return metav1.Condition{}, false
	}
	image := func(spec []corev1.Container, name string) string {
		for _, c := range spec {
			if c.Name == name {
				return c.Image
			}
		}
		return ""
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		if w := cs.State.Waiting; w != nil && imageReasons[w.Reason] {
			return bad(v1beta1.ReasonImageMissing, "init container %s: image %s cannot be pulled (%s): %s", cs.Name, image(pod.Spec.InitContainers, cs.Name), w.Reason, oneLine(w.Message))
		}
		term := cs.State.Terminated
		if term == nil {
			term = cs.LastTerminationState.Terminated
		}
		if term != nil && term.ExitCode != 0 {
			msg := oneLine(term.Message)
			if msg == "" {
				msg = term.Reason
			}
			return bad(v1beta1.ReasonInitContainerFailed, "init container %s failed (exit code %d): %s", cs.Name, term.ExitCode, msg)
		}
	}
	for _, cs := range pod.Status.ContainerStatuses {
		w := cs.State.Waiting
		if w != nil && imageReasons[w.Reason] {
			return bad(v1beta1.ReasonImageMissing, "image %s cannot be pulled (%s): %s", image(pod.Spec.Containers, cs.Name), w.Reason, oneLine(w.Message))
		}
		if w != nil && (w.Reason == "CrashLoopBackOff" || w.Reason == "CreateContainerConfigError" || w.Reason == "RunContainerError") {
			detail := oneLine(w.Message)
			if t := cs.LastTerminationState.Terminated; t != nil {
				detail = fmt.Sprintf("last exit code %d", t.ExitCode)
				if m := oneLine(t.Message); m != "" {
					detail += ": " + m
				}
			}
			reason := v1beta1.ReasonCrashLoop
			return bad(reason, "container %s keeps failing (%s): %s", cs.Name, w.Reason, detail)
		}
	}
	return metav1.Condition{}, false
}

// oneLine keeps the last non-empty lines of a termination message on one
// line, at most 400 bytes: the end of a build log says what failed.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	out := strings.Join(lines, " | ")
	if len(out) > 400 {
		out = "..." + out[len(out)-397:]
	}
	return out
}
