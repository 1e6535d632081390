# frozen_string_literal: true

# Tests of the Ruby worker. Run from the repository root:
#   ruby -Iruntimes/ruby runtimes/ruby/test/test_kubeless.rb
# Unit tests call the runtime's pieces in-process; the others start kubeless.rb
# as the Go host does (fds 3 and 4) and speak frames to it.

require 'minitest/autorun'
require_relative 'frames'
require_relative '../kubeless'

class ResponseTest < Minitest::Test
  def build(value)
    Kubeless::Response.build(value)
  end

  def test_string_is_utf8_text
    assert_equal [200, [['Content-Type', 'text/plain; charset=utf-8']], 'héllo', false], build('héllo')
  end

  def test_binary_string_is_octet_stream
    _, headers, body = build("\xff\x00".b)
    assert_equal [['Content-Type', 'application/octet-stream']], headers
    assert_equal "\xff\x00".b, body
  end

  def test_other_encodings_become_utf8
    _, _, body = build('é'.encode('ISO-8859-1'))
    assert_equal 'é'.b, body.b
  end

  def test_nil_is_empty_without_type
    assert_equal [200, [], '', false], build(nil)
  end

  def test_values_are_json
    { { 'a' => 1 } => '{"a":1}', [1, 'x'] => '[1,"x"]', 42 => '42', 1.5 => '1.5', true => 'true',
      false => 'false' }.each do |value, json|
      assert_equal [200, [['Content-Type', 'application/json']], json, false], build(value), value.inspect
    end
  end

  def test_rack_triple_sets_status_and_headers
    status, headers, body, stream = build([201, { 'X-A' => 'yes' }, ['cre', 'ated']])
    assert_equal 201, status
    assert_equal [['X-A', 'yes'], ['Content-Type', 'text/plain; charset=utf-8']], headers
    assert_equal 'created', body
    refute stream
  end

  def test_rack_content_type_of_the_function_wins
    _, headers, body = build([200, { 'content-type' => 'text/html' }, '<b>x</b>'])
    assert_equal [['content-type', 'text/html']], headers
    assert_equal '<b>x</b>', body
  end

  def test_rack_multiple_header_values
    _, headers = build([200, { 'Set-Cookie' => %w[a=1 b=2], 'X-Old' => "c\nd" }, nil])
    assert_equal [%w[Set-Cookie a=1], %w[Set-Cookie b=2], %w[X-Old c], %w[X-Old d]], headers
  end

  def test_rack_hash_body_is_json
    _, headers, body = build([202, {}, { 'ok' => true }])
    assert_equal [['Content-Type', 'application/json']], headers
    assert_equal '{"ok":true}', body
  end

  def test_rack_enumerable_body_streams
    enum = Enumerator.new { |y| y << 'a' }
    status, _, body, stream = build([200, {}, enum])
    assert_equal 200, status
    assert stream
    assert_same enum, body
  end

  def test_rack_invalid_status
    assert_raises(ArgumentError) { build([1000, {}, 'x']) }
  end

  def test_three_element_json_array_is_not_rack
    assert_equal '[1,2,3]', build([1, 2, 3])[2]
  end
end

class RequestTest < Minitest::Test
  def request
    head = {
      'method' => 'POST', 'path' => '/a/b', 'query' => 'x=1&y=%C3%A9', 'remote' => '10.0.0.1:5000',
      'headers' => [['Content-Type', 'application/json; charset=utf-8'], ['X-Token', 't1'], ['X-Token', 't2']]
    }
    Kubeless::Request.new(head, '{"a":1}')
  end

  def test_hash_access
    r = request
    assert_equal ['POST', '/a/b', 'x=1&y=%C3%A9', '{"a":1}'], [r[:method], r[:path], r[:query], r[:body]]
    assert_equal 't1, t2', r[:headers]['X-Token']
    assert_equal r[:method], r['method']
  end

  def test_rack_style_readers
    r = request
    assert_equal %w[POST /a/b], [r.request_method, r.path_info]
    assert_equal({ 'x' => '1', 'y' => 'é' }, r.params)
    assert_equal '{"a":1}', r.body.read
    assert_equal 'application/json', r.media_type
    assert_equal '10.0.0.1', r.ip
    assert_equal 't1, t2', r.env['HTTP_X_TOKEN']
    assert_equal 'application/json; charset=utf-8', r.env['CONTENT_TYPE']
  end

  def test_get_header_ignores_case_and_takes_rack_names
    r = request
    assert_equal 't1, t2', r.get_header('x-token')
    assert_equal 't1, t2', r.get_header('HTTP_X_TOKEN')
    assert_equal 'application/json; charset=utf-8', r.get_header('CONTENT_TYPE')
    assert_nil r.get_header('X-Missing')
  end

  def test_inspect_is_short
    assert_equal '#<Kubeless::Request POST /a/b?x=1&y=%C3%A9>', request.inspect
  end
end

class ErrorLineTest < Minitest::Test
  def test_first_line_and_class
    err = RuntimeError.new("boom\nmore")
    assert_equal 'RuntimeError: boom', Kubeless.error_line(err)
  end

  def test_function_module_prefix_is_dropped
    mod = Module.new
    Kubeless.send(:remove_const, :Function) if Kubeless.const_defined?(:Function, false)
    Kubeless.const_set(:Function, mod)
    mod.module_eval('class MyError < StandardError; end', 'x.rb', 1)
    assert_equal 'MyError: bad', Kubeless.error_line(mod::MyError.new('bad'))
  end
end

# Shared set-up for the tests that start the worker.
module WorkerTestHelper
  def teardown
    (@workers || []).each(&:kill)
    (@volumes || []).each { |dir| FileUtils.remove_entry(dir) }
  end

  def start(**kwargs)
    worker = WorkerProcess.new(**kwargs)
    (@workers ||= []) << worker
    worker
  end

  def ready(**kwargs)
    worker = start(**kwargs)
    frame = worker.ready
    assert_equal 'R', frame.type, "expected R, got #{frame.type}: #{frame.payload}"
    worker
  end

  # The F frame and exit status of a worker that cannot load its function.
  def load_failure(**kwargs)
    worker = start(**kwargs)
    frame = worker.ready
    assert_equal 'F', frame.type, "expected F, got #{frame.type}: #{frame.payload}"
    assert_equal 0, frame.id
    status = worker.wait
    assert_equal 1, status.exitstatus
    message = frame.payload.dup.force_encoding('UTF-8')
    refute_includes message, "\n"
    message
  end

  # Whether process pid exists and is no zombie (an orphan's new parent may
  # be slow to reap it, or never do).
  def running?(pid)
    File.read("/proc/#{pid}/stat").split(') ').last.split.first != 'Z'
  rescue Errno::ENOENT, Errno::ESRCH
    false
  end

  # Waits until the worker printed text (at most `timeout` seconds).
  def wait_stdout(worker, text, timeout: 10)
    deadline = Time.now + timeout
    sleep 0.01 until worker.stdout.include?(text) || Time.now > deadline
    assert_includes worker.stdout, text
  end

  # A volume with sync.rb: handler `sync` holds (prints "holding <id>" and
  # sleeps 30 s), spins (prints "spinning <id>", loops until cancelled, then
  # prints "stopped <id>") or meets: answers "met" once data.parties calls of
  # data.group are inside it at the same time, and fails after 10 s if they
  # never are. Tests wait on these events, never on time.
  SYNC_RB = <<~RUBY
    MEETING = { lock: Mutex.new, cv: ConditionVariable.new, counts: Hash.new(0) }.freeze

    def sync(event, _context)
      data = event[:data]
      id = event[:'event-id']
      if data['hold']
        puts "holding \#{id}"
        Kernel.sleep 30
        return 'held'
      end
      if data['spin']
        begin
          puts "spinning \#{id}"
          n = 0
          n += 1 while true # rubocop:disable Style/InfiniteLoop
        ensure
          puts "stopped \#{id}"
        end
      end
      meet(data['group'], data['parties'])
    end

    def meet(group, parties)
      MEETING[:lock].synchronize do
        MEETING[:counts][group] += 1
        MEETING[:cv].broadcast
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
        until MEETING[:counts][group] >= parties
          left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          raise "only \#{MEETING[:counts][group]} of \#{parties} calls met" if left <= 0

          MEETING[:cv].wait(MEETING[:lock], left)
        end
      end
      'met'
    end
  RUBY

  def sync_worker(concurrency)
    ready(volume: volume('sync.rb' => SYNC_RB), mod: 'sync', handler: 'sync',
          env: { 'KUBELESS_WORKER_CONCURRENCY' => concurrency.to_s })
  end

  # Invokes `sync` to meet in group with ids and checks that all met.
  def assert_meet(worker, group, ids)
    body = JSON.generate('group' => group, 'parties' => ids.size)
    ids.each { |id| worker.invoke(id, body: body, json: true, method: 'POST') }
    ids.reverse_each { |id| assert_equal %w[S met], worker.response(id, timeout: 20).then { |f| [f.type, f.body] } }
  end

  def volume(files)
    dir = Dir.mktmpdir('kubeless-rb-fn')
    (@volumes ||= []) << dir
    files.each do |name, text|
      FileUtils.mkdir_p(File.dirname(File.join(dir, name)))
      File.write(File.join(dir, name), text)
    end
    dir
  end
end

class FixturesTest < Minitest::Test
  include WorkerTestHelper

  def test_ready_names_the_runtime
    worker = start
    frame = worker.ready
    assert_equal ['R', 0], [frame.type, frame.id]
    assert_equal "ruby #{RUBY_VERSION}", JSON.parse(frame.payload)['runtime']
  end

  def test_hello
    f = ready(handler: 'hello').call(7)
    assert_equal ['S', 7, 200, 'hello world'], [f.type, f.id, f.status, f.body]
    assert_equal 'text/plain; charset=utf-8', f.header('Content-Type')
  end

  def test_unicode
    f = ready(handler: 'unicode').call
    assert_equal 'héllo wörld ✓ 日本語 🚀'.b, f.body
  end

  def test_echo_json_text_binary_and_empty
    w = ready(handler: 'echo')
    f = w.call(1, body: '{"a": [1, 2.5, "é", null], "b": {}}', json: true, method: 'POST')
    assert_equal 'application/json', f.header('Content-Type')
    assert_equal({ 'a' => [1, 2.5, 'é', nil], 'b' => {} }, JSON.parse(f.body))
    f = w.call(2, body: 'just text é', method: 'POST')
    assert_equal ['text/plain; charset=utf-8', 'just text é'.b], [f.header('Content-Type'), f.body]
    f = w.call(3, body: "\xff\xfe\x00".b, method: 'POST')
    assert_equal ['application/octet-stream', "\xff\xfe\x00".b], [f.header('Content-Type'), f.body]
    f = w.call(4)
    assert_equal '', f.body
    # A JSON string parses to a Ruby String, which is answered as text.
    f = w.call(5, body: '"a json string"', json: true, method: 'POST')
    assert_equal ['text/plain; charset=utf-8', 'a json string'], [f.header('Content-Type'), f.body]
  end

  def test_throw_is_an_error_frame_and_the_worker_keeps_serving
    w = ready(handler: 'throw')
    f = w.call(3)
    assert_equal ['X', 3, 'RuntimeError: boom'], [f.type, f.id, f.payload]
    f = w.call(4)
    assert_equal 'X', f.type
    assert_match(/fixtures\.rb:\d+:in `throw': boom \(RuntimeError\)/, w.stderr)
  end

  def test_status
    f = ready(handler: 'status').call
    assert_equal [201, 'yes', 'created'], [f.status, f.header('X-Conformance'), f.body]
  end

  def test_large
    body = 'x' * (3 * 1024 * 1024 + 5)
    f = ready(handler: 'large').call(1, body: body, method: 'POST')
    assert_equal body.bytesize.to_s, f.body
  end

  def test_context
    env = { 'FUNC_TIMEOUT' => '2.5', 'FUNC_RUNTIME' => 'ruby3.1', 'FUNC_MEMORY_LIMIT' => '128Mi',
            'CONFORMANCE_ENV' => 'set' }
    f = ready(handler: 'context', env: env).call
    assert_equal({ 'function-name' => 'context', 'timeout' => '2.5', 'runtime' => 'ruby3.1',
                   'memory-limit' => '128Mi', 'env' => 'set' }, JSON.parse(f.body))
  end

  def test_context_defaults
    env = { 'FUNC_TIMEOUT' => nil, 'FUNC_RUNTIME' => nil, 'FUNC_MEMORY_LIMIT' => nil, 'CONFORMANCE_ENV' => nil }
    f = ready(handler: 'context', env: env).call
    assert_equal({ 'function-name' => 'context', 'timeout' => '180', 'runtime' => '',
                   'memory-limit' => '', 'env' => '' }, JSON.parse(f.body))
  end

  def test_event
    w = ready(handler: 'event')
    f = w.call(1, method: 'PUT', path: '/some/path', query: 'a=1&b=2', body: '{"x":1}', json: true,
                  headers: [['Content-Type', 'application/json'], ['X-Conformance-Header', 'hv']],
                  event: { 'event-id' => 'abc', 'event-namespace' => 'cli.kubeless.io' })
    assert_equal({ 'event-id' => 'abc', 'event-type' => 'application/json', 'event-time' => '2026-01-02T03:04:05Z',
                   'event-namespace' => 'cli.kubeless.io', 'method' => 'PUT', 'path' => '/some/path',
                   'query' => 'a=1&b=2', 'header' => 'hv', 'data-kind' => 'json' }, JSON.parse(f.body))
    f = w.call(2, method: 'POST', body: 'txt', headers: [['Content-Type', 'text/plain']])
    assert_equal ['text', ''], JSON.parse(f.body).values_at('data-kind', 'header')
    f = w.call(3)
    assert_equal 'empty', JSON.parse(f.body)['data-kind']
  end

  def test_printsleep_prints_unbuffered
    w = ready(handler: 'printsleep')
    w.invoke(9)
    deadline = Time.now + 5
    sleep 0.02 until w.stdout.include?('printed id-9') || Time.now > deadline
    assert_equal "printed id-9\n", w.stdout
  end

  def test_end_of_file_exits_zero
    w = ready
    assert_equal 0, w.close.exitstatus
  end

  def test_syntax_error_fixture
    message = load_failure(mod: 'syntaxerror', handler: 'hello')
    assert_match(/\Acannot load function "syntaxerror\.hello": /, message)
    assert_includes message, "#{FIXTURES}/syntaxerror.rb:3: SyntaxError: "
  end

  def test_missing_handler_lists_found_ones
    message = load_failure(handler: 'nope')
    assert_includes message, %(module "fixtures" (#{FIXTURES}/fixtures.rb) has no function "nope"; found: busy, context,)
  end

  def test_missing_file
    message = load_failure(mod: 'absent')
    assert_equal %(cannot load function "absent.hello": #{FIXTURES}/absent.rb: no such file ) +
                 %((MOD_NAME=absent, KUBELESS_INSTALL_VOLUME=#{FIXTURES})), message
  end

  def test_handler_in_a_sub_folder
    dir = volume('src/api/hello.rb' => "require_relative 'helper'\ndef foo(event, context)\n  HELPER_NAME\nend\n",
                 'src/api/helper.rb' => "HELPER_NAME = 'sub-folder'\n")
    assert_equal 'sub-folder', ready(volume: dir, mod: 'src/api/hello', handler: 'foo').call.body
  end

  def test_sub_folder_outside_the_volume_is_refused
    dir = volume('hello.rb' => "def foo(event, context) 'x' end\n")
    ['../hello', 'src/../../hello', '/etc/hello', 'src//hello'].each do |mod|
      assert_equal %(cannot load function "#{mod}.foo": MOD_NAME=#{mod} must be a path inside #{dir} ) +
                   %((no leading "/", no empty, "." or ".." parts), for example MOD_NAME=src/hello),
                   load_failure(volume: dir, mod: mod, handler: 'foo')
    end
  end

  def test_empty_mod_name
    assert_equal 'cannot load function ".hello": MOD_NAME is empty', load_failure(mod: '')
  end
end

class PoolTest < Minitest::Test
  include WorkerTestHelper

  # The four calls meet: each answers only once all four run at once.
  def test_invocations_run_in_parallel
    assert_meet(sync_worker(4), 'a', [1, 2, 3, 4])
  end

  def test_cancel_stops_a_sleeping_invocation_without_a_frame
    w = sync_worker(2)
    w.invoke(1, body: '{"hold": true}', json: true)
    wait_stdout(w, "holding id-1\n")
    w.send_frame('C', 1)
    # Both threads are free again: two calls meet.
    assert_meet(w, 'b', [2, 3])
    w.send_frame('C', 1) # again: ignored
    f = w.read_frame(timeout: 0.3) rescue nil # rubocop:disable Style/RescueModifier
    assert_nil f, 'no frame for a cancelled invocation'
  end

  def test_cancel_stops_a_busy_invocation
    w = sync_worker(2)
    w.invoke(1, body: '{"spin": true}', json: true)
    wait_stdout(w, "spinning id-1\n")
    w.send_frame('C', 1)
    wait_stdout(w, "stopped id-1\n")
    # Its thread is free again: two calls meet.
    assert_meet(w, 'c', [2, 3])
  end

  def test_end_of_file_ends_running_invocations
    w = ready(handler: 'busy', env: { 'KUBELESS_WORKER_CONCURRENCY' => '2' })
    w.invoke(1)
    sleep 0.2
    assert_equal 0, w.close(timeout: 15).exitstatus
  end

  # With every thread busy nobody reads fd 3; the worker still ends when the
  # shell the host started it with is gone.
  def test_parent_death_ends_a_worker_whose_threads_are_busy
    Dir.mktmpdir do |dir|
      pid_file = File.join(dir, 'pid')
      sh = WorkerProcess.new(handler: 'busy', command: ['/bin/sh', '-c', %(echo $$ > #{pid_file}; "$@"; :), 'sh'])
      (@workers ||= []) << sh
      assert_equal 'R', sh.ready.type
      sh.invoke(1)
      sleep 0.2
      ruby_pid = File.read("/proc/#{sh.pid}/task/#{sh.pid}/children").split.first.to_i
      Process.kill('KILL', sh.pid)
      deadline = Time.now + 15 # the worker looks at its parent once a second
      sleep 0.05 while running?(ruby_pid) && Time.now < deadline
      refute running?(ruby_pid), 'the worker outlived its parent'
    ensure
      Process.kill('KILL', ruby_pid) if ruby_pid && running?(ruby_pid) # no orphan outlives a failure
    end
  end

  def test_cancel_of_a_finished_invocation_is_ignored
    w = ready(handler: 'hello', env: { 'KUBELESS_WORKER_CONCURRENCY' => '3' })
    assert_equal 'hello world', w.call(1).body
    w.send_frame('C', 1)
    w.send_frame('C', 99)
    assert_equal 'hello world', w.call(2).body
  end

  def test_many_concurrent_invocations
    w = ready(handler: 'echo', env: { 'KUBELESS_WORKER_CONCURRENCY' => '8' })
    ids = (1..200).to_a
    ids.each { |id| w.invoke(id, body: "n#{id}") }
    ids.shuffle.each { |id| assert_equal "n#{id}", w.response(id).body }
  end
end

class LoadingTest < Minitest::Test
  include WorkerTestHelper

  def test_helpers_constants_arity_and_require_relative
    dir = volume(
      'helper.rb' => "def from_helper; 'helped'; end\n",
      'fn.rb' => <<~RUBY
        require_relative 'helper'
        GREETING = 'hi'
        class Greeter; def greet(n) = "\#{GREETING} \#{n}"; end
        def name_of(event) = event[:data]
        def two(event, context) = [Greeter.new.greet(name_of(event)), from_helper, context[:'function-name']].join(' ')
        def one(event) = event['data']
        def none = 'none'
        def self.single(event, context) = 'single'
        def optional(event, context = nil, *rest) = context.class.name
      RUBY
    )
    assert_equal 'hi bob helped two', ready(volume: dir, mod: 'fn', handler: 'two').call(1, body: 'bob').body
    assert_equal 'bob', ready(volume: dir, mod: 'fn', handler: 'one').call(1, body: 'bob').body
    assert_equal 'none', ready(volume: dir, mod: 'fn', handler: 'none').call.body
    assert_equal 'single', ready(volume: dir, mod: 'fn', handler: 'single').call.body
    assert_equal 'Hash', ready(volume: dir, mod: 'fn', handler: 'optional').call.body
    assert_equal 'helped', ready(volume: dir, mod: 'fn', handler: 'from_helper').call.body
  end

  def test_kernel_methods_are_not_handlers
    dir = volume('fn.rb' => "def foo(e, c) = 1\n")
    assert_includes load_failure(volume: dir, mod: 'fn', handler: 'exit'), 'has no function "exit"; found: foo'
  end

  def test_load_error_names_the_line_and_the_gemfile
    dir = volume('fn.rb' => "# a comment\nrequire 'no_such_gem_here'\ndef foo(e, c) = 1\n")
    message = load_failure(volume: dir, mod: 'fn', handler: 'foo', env: { 'GEM_HOME' => dir })
    assert_includes message, "#{dir}/fn.rb:2: LoadError: cannot load such file -- no_such_gem_here " \
                             "(is the gem in the function's Gemfile? gems are loaded from GEM_HOME=#{dir})"
  end

  def test_exception_while_loading
    dir = volume('fn.rb' => "def foo(e, c) = 1\n\nundefined_thing(1)\n")
    message = load_failure(volume: dir, mod: 'fn', handler: 'foo')
    assert_match(%r{\Acannot load function "fn\.foo": #{dir}/fn\.rb:3: NoMethodError: undefined method `undefined_thing'}, message)
  end

  def test_exit_while_loading
    dir = volume('fn.rb' => "exit 3\n")
    assert_includes load_failure(volume: dir, mod: 'fn', handler: 'foo'), 'the file called exit while loading'
  end

  def test_syntax_error_names_the_line
    dir = volume('fn.rb' => "def foo(e, c)\n  1 +\nend\nend\n")
    assert_includes load_failure(volume: dir, mod: 'fn', handler: 'foo'), "#{dir}/fn.rb:3: SyntaxError: syntax error"
  end

  def test_function_errors_strings_keys_streams_and_exit
    dir = volume('fn.rb' => <<~RUBY)
      class MyError < StandardError; end
      def mine(e, c) = raise(MyError, "bad\\nsecond line")
      def keys(e, c) = [e['event-id'], c['function-name'], c[:timeout]].join(',')
      def streamed(e, c)
        [200, { 'Content-Type' => 'text/event-stream' }, Enumerator.new { |y| y << 'a'; y << ''; y << 'b' }]
      end
      def broken_stream(e, c) = [200, {}, Enumerator.new { |y| y << 'a'; raise 'midway' }]
      def quits(e, c) = exit(4)
      def nan(e, c) = { 'x' => Float::NAN }
    RUBY
    f = ready(volume: dir, mod: 'fn', handler: 'mine').call
    assert_equal ['X', 'MyError: bad'], [f.type, f.payload]
    assert_equal 'id-1,keys,180', ready(volume: dir, mod: 'fn', handler: 'keys').call.body

    s, d1, d2, e = ready(volume: dir, mod: 'fn', handler: 'streamed').call
    assert_equal [true, 'text/event-stream'], [s.head['stream'], s.header('Content-Type')]
    assert_equal [%w[D a], %w[D b], ['E', '']], [d1, d2, e].map { |x| [x.type, x.payload] }

    s, d, e = ready(volume: dir, mod: 'fn', handler: 'broken_stream').call
    assert_equal [%w[S], %w[D a], %w[E RuntimeError:\ midway]],
                 [[s.type], [d.type, d.payload], [e.type, e.payload]]

    w = ready(volume: dir, mod: 'fn', handler: 'quits')
    assert_equal ['X', 'SystemExit: exit'], [w.call(1).type, w.call(2).payload]

    assert_equal 'X', ready(volume: dir, mod: 'fn', handler: 'nan').call.type
  end

  def test_mod_root_path_is_the_fallback_volume
    dir = volume('fn.rb' => "def foo(e, c) = 'root'\n")
    w = ready(volume: '', mod: 'fn', handler: 'foo', env: { 'KUBELESS_INSTALL_VOLUME' => nil, 'MOD_ROOT_PATH' => dir })
    assert_equal 'root', w.call.body
  end
end

require_relative 'test_examples_compat'
