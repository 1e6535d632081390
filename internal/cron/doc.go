// Package cron is the local engine's clock for CronJobTrigger resources and
// for functions deployed with --schedule: it parses cron expressions, runs
// jobs on their schedule, and describes the request a cron trigger sends to
// its function.
//
// [Parse] accepts the standard five fields ("minute hour day-of-month month
// day-of-week", as validated by the original CLI with robfig/cron's
// ParseStandard) and the descriptors @yearly, @annually, @monthly, @weekly,
// @daily, @midnight, @hourly and @every <duration>, optionally preceded by
// CRON_TZ=<zone>.
//
// A [Scheduler] runs jobs by name. Its time comes from a [Clock], so tests
// drive it with a fake one. A job never overlaps itself: a tick that comes
// while the previous run is still going is skipped, logged and counted in
// [JobStatus]. Ticks missed while the machine slept or the clock jumped are
// run once, not once per missed tick.
//
// [NewRequest] builds the request a cron trigger sends (method, event
// headers, body) as a plain value; the engine turns it into an HTTP request
// to the function.
//
// The package is pure (ARCHITECTURE.md §3): no network, no programs, no
// environment.
package cron
