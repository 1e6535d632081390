# frozen_string_literal: true

# Kubeless Ruby runtime: a worker of the Go host (kubeless-host).
#
# The host starts this file through FUNC_PROCESS with fd 3 carrying frames from
# the host and fd 4 carrying frames back (docs/worker-protocol.md, frames mode).
# The worker loads $KUBELESS_INSTALL_VOLUME/$MOD_NAME.rb once, answers R (ready)
# or F (fatal), then runs one invocation per I frame and answers S (response),
# S/D/E (streamed response) or X (error). The host owns HTTP, timeouts, metrics,
# logs, CORS and drain. Standard library only, so a function's gems never clash
# with the runtime's.

require 'json'
require 'stringio'

module Kubeless
  TEXT_TYPE = 'text/plain; charset=utf-8'
  BINARY_TYPE = 'application/octet-stream'
  JSON_TYPE = 'application/json'

  # Raised in an invocation's thread when the host cancels it (C frame). An
  # Exception rather than a StandardError, so a function's `rescue => e` lets it
  # through, as with Timeout.
  class Cancel < Exception; end # rubocop:disable Lint/InheritException

  # The function could not be loaded; the message is the whole F frame.
  class LoadFailure < StandardError; end

  # Reading access to a Hash with symbol keys through string keys too:
  # event['data'] is event[:data]. Symbols stay the documented form (compat).
  STRING_KEYS = proc { |hash, key| hash[key.to_sym] if key.is_a?(String) }

  # event[:extensions][:request]: the HTTP request behind an invocation.
  #
  # Hash-style access with the same keys as the other runtimes
  # (request[:method], [:path], [:query], [:headers], [:body] as a String), and
  # the reader methods of Rack::Request that functions written for the original
  # Sinatra runtime use (request_method, path_info, query_string, params,
  # get_header, env, body as an IO, content_type, user_agent, ip).
  class Request
    attr_reader :request_method, :path, :query_string, :remote

    alias path_info path
    alias query query_string

    def initialize(head, body)
      @request_method = head['method'] || 'GET'
      @path = head['path'] || '/'
      @query_string = head['query'] || ''
      @remote = head['remote'] || ''
      @pairs = head['headers'] || []
      @raw = body
    end

    def [](key)
      case key
      when :method, 'method' then @request_method
      when :path, 'path' then @path
      when :query, 'query' then @query_string
      when :headers, 'headers' then headers
      when :body, 'body' then @raw
      when :remote, 'remote' then @remote
      end
    end

    # Header name (canonical form, Content-Type) => value; repeated headers are
    # joined with ", ".
    def headers
      @headers ||= @pairs.each_with_object({}) do |(name, value), all|
        all[name] = all.key?(name) ? "#{all[name]}, #{value}" : value
      end
    end

    # A header by name, case-insensitively; Rack env names (HTTP_X_TOKEN,
    # CONTENT_TYPE) work too. nil when absent.
    def get_header(name)
      name = name.to_s
      name = name.delete_prefix('HTTP_').tr('_', '-') if name.match?(/\A[A-Z0-9_]+\z/)
      found = nil
      @pairs.each do |k, v|
        next unless k.casecmp?(name)

        found = found ? "#{found}, #{v}" : v
      end
      found
    end
    alias header get_header

    # The body as an IO, like Rack's rack.input (request.body.read).
    def body
      @body ||= StringIO.new(@raw)
    end

    def raw_body
      @raw
    end

    # The query string decoded into a Hash (the last value wins).
    def params
      @params ||= begin
        require 'uri'
        URI.decode_www_form(@query_string).to_h
      rescue ArgumentError
        {}
      end
    end
    alias GET params

    def content_type
      get_header('Content-Type')
    end

    def media_type
      content_type&.split(';', 2)&.first&.strip&.downcase
    end

    def content_length
      @raw.bytesize
    end

    def user_agent
      get_header('User-Agent')
    end

    def ip
      @remote.sub(/:\d+\z/, '').delete_prefix('[').delete_suffix(']')
    end

    # A Rack-like env Hash, for code that reads request.env['HTTP_...'].
    def env
      @env ||= begin
        env = {
          'REQUEST_METHOD' => @request_method, 'PATH_INFO' => @path,
          'QUERY_STRING' => @query_string, 'REMOTE_ADDR' => ip, 'rack.input' => body
        }
        headers.each do |name, value|
          key = name.upcase.tr('-', '_')
          key = "HTTP_#{key}" unless %w[CONTENT_TYPE CONTENT_LENGTH].include?(key)
          env[key] = value
        end
        env
      end
    end

    def to_h
      { method: @request_method, path: @path, query: @query_string, headers: headers, body: @raw }
    end

    def inspect
      target = @query_string.empty? ? @path : "#{@path}?#{@query_string}"
      "#<Kubeless::Request #{@request_method} #{target}>"
    end
    alias to_s inspect
  end

  # Turns a function's return value into [status, header pairs, body, stream?]
  # (docs/runtime-contract.md §3.1 and the Rack-style [status, headers, body] triple).
  module Response
    module_function

    def build(value)
      return rack(value) if rack?(value)

      body, type = typed(value)
      [200, type ? [['Content-Type', type]] : [], body, false]
    end

    # [status, headers, body] with an Integer status and a Hash of headers.
    def rack?(value)
      value.is_a?(Array) && value.size == 3 && value[0].is_a?(Integer) && value[1].is_a?(Hash)
    end

    def rack(value)
      status, headers, body = value
      raise ArgumentError, "invalid status #{status} (want 100-599)" unless (100..599).cover?(status)

      pairs = header_pairs(headers)
      stream = false
      content, type =
        case body
        when String, nil, Hash, Numeric, true, false then typed(body)
        when Array then chunks(body)
        else
          if body.respond_to?(:each)
            stream = true
            [body, TEXT_TYPE]
          else
            typed(body)
          end
        end
      pairs << ['Content-Type', type] if type && pairs.none? { |k, _| k.casecmp?('content-type') }
      [status, pairs, content, stream]
    end

    # The body and its default Content-Type for one value.
    def typed(value)
      case value
      when nil then ['', nil]
      when String
        return [value, BINARY_TYPE] if value.encoding == Encoding::BINARY

        [utf8(value), TEXT_TYPE]
      else [JSON.generate(value), JSON_TYPE]
      end
    end

    # A Rack body Array: its String chunks joined.
    def chunks(body)
      binary = false
      joined = String.new(encoding: Encoding::BINARY)
      body.each do |chunk|
        raise TypeError, "Rack body chunk is a #{chunk.class}, not a String" unless chunk.is_a?(String)

        binary ||= chunk.encoding == Encoding::BINARY
        joined << utf8(chunk).b
      end
      [joined, binary ? BINARY_TYPE : TEXT_TYPE]
    end

    def utf8(str)
      enc = str.encoding
      return str if enc == Encoding::UTF_8 || enc == Encoding::US_ASCII || enc == Encoding::BINARY

      str.encode(Encoding::UTF_8)
    rescue EncodingError
      str
    end

    def header_pairs(headers)
      pairs = []
      headers.each do |name, value|
        values = value.is_a?(Array) ? value : value.to_s.split("\n")
        values.each { |v| pairs << [name.to_s, v.to_s] }
      end
      pairs
    end
  end

  # The frame channel: fd 3 in, fd 4 out. Writes are whole frames under a lock,
  # never interrupted by a Cancel.
  class Channel
    EMPTY = ''.b.freeze

    def initialize(input, output)
      @in = input
      @out = output
      @lock = Mutex.new
    end

    # [type, id, payload], or nil at end of file.
    def read
      header = @in.read(9)
      return nil if header.nil? || header.bytesize < 9

      type, id, len = header.unpack('aNN')
      payload = len.zero? ? EMPTY : @in.read(len)
      return nil if payload.nil? || payload.bytesize < len

      [type, id, payload]
    end

    def write(type, id, *parts)
      len = parts.sum(&:bytesize)
      Thread.handle_interrupt(Cancel => :never) do
        @lock.synchronize { @out.write([type, id, len].pack('aNN'), *parts) }
      end
    end

    # A payload of hlen + head JSON + body (I and S frames).
    def write_with_head(type, id, head, body)
      write(type, id, [head.bytesize].pack('N'), head, body)
    end
  end

  # Loads the function file into a module and finds the handler.
  class Loader
    attr_reader :path, :label

    def initialize(volume:, mod_name:, handler:)
      @volume = volume
      @mod_name = mod_name
      @handler = handler
      @path = File.join(volume, "#{mod_name}.rb")
      @label = "#{mod_name}.#{handler}"
    end

    # A callable taking (event, context).
    def load
      fail!('MOD_NAME is empty') if @mod_name.empty?
      fail!('FUNC_HANDLER is empty') if @handler.empty?
      # A handler may sit in a sub-folder (MOD_NAME=src/hello), never outside the volume.
      if @mod_name.start_with?('/') || @mod_name.split('/', -1).any? { |p| ['', '.', '..'].include?(p) }
        fail!("MOD_NAME=#{@mod_name} must be a path inside #{@volume} (no leading \"/\", no empty, \".\" or \"..\" parts), for example MOD_NAME=src/hello")
      end
      fail!("#{@path}: no such file (MOD_NAME=#{@mod_name}, KUBELESS_INSTALL_VOLUME=#{@volume})") unless File.file?(@path)

      toplevel = Object.private_instance_methods(false)
      mod = evaluate
      find(mod, Object.private_instance_methods(false) - toplevel)
    end

    private

    def fail!(cause)
      raise LoadFailure, "cannot load function #{@label.dump}: #{cause}"
    end

    # Like the original runtime: the file is evaluated in a module (named
    # Kubeless::Function, so its classes get readable names) that extends
    # itself, so `def foo(event, context)` at top level and its helper methods
    # are callable on it.
    def evaluate
      source = File.read(@path, mode: 'rb').force_encoding(Encoding::UTF_8)
      mod = Module.new
      Kubeless.send(:remove_const, :Function) if Kubeless.const_defined?(:Function, false)
      Kubeless.const_set(:Function, mod)
      $LOAD_PATH.push(@volume) unless $LOAD_PATH.include?(@volume)
      mod.module_eval(source, @path, 1)
      mod.extend(mod)
      mod
    rescue SyntaxError => e
      fail!(syntax_cause(e))
    rescue SignalException
      raise
    rescue LoadError => e
      fail!("#{where(e)}#{e.class}: #{first_line(e.message)} (#{gem_hint})")
    rescue SystemExit
      fail!("#{@path}: the file called exit while loading")
    rescue Exception => e # rubocop:disable Lint/RescueException
      fail!("#{where(e)}#{e.class}: #{first_line(e.message)}")
    end

    def find(mod, toplevel)
      name = @handler.to_sym
      own = mod.instance_methods(false) + mod.private_instance_methods(false) +
            mod.singleton_class.instance_methods(false)
      unless own.include?(name) || toplevel.include?(name)
        found = (own + toplevel).uniq.map(&:to_s).sort
        fail!("module #{@mod_name.dump} (#{@path}) has no function #{@handler.dump}; " \
              "found: #{found.empty? ? '(none)' : found.join(', ')}")
      end
      adapt(mod.method(name))
    end

    # def foo(event, context) is the contract; foo(event) and foo() work too.
    def adapt(meth)
      case meth.arity
      when 0 then ->(_event, _context) { meth.call }
      when 1 then ->(event, _context) { meth.call(event) }
      else meth
      end
    end

    def syntax_cause(err)
      line = first_line(err.message)
      line = line.sub(/\A(.*?:\d+): /, '\1: SyntaxError: ') if line.start_with?(@path)
      line.start_with?(@path) ? line : "#{@path}: SyntaxError: #{line}"
    end

    def where(err)
      loc = (err.backtrace_locations || []).find { |l| l.absolute_path == @path || l.path == @path }
      loc ? "#{@path}:#{loc.lineno}: " : "#{@path}: "
    end

    def gem_hint
      "is the gem in the function's Gemfile? gems are loaded from GEM_HOME=#{ENV.fetch('GEM_HOME', '(unset)')}"
    end

    def first_line(text)
      text.to_s.each_line.first.to_s.strip
    end
  end

  # Runs invocations on a fixed pool of KUBELESS_WORKER_CONCURRENCY threads.
  # Each thread reads the next frame itself (one reader at a time) and runs the
  # invocation it read, so no invocation is handed from thread to thread: with
  # Ruby's GVL a hand-over costs more than a hello-world invocation. The main
  # thread only waits for the end of fd 3 (and receives signals).
  class Worker
    def initialize(channel, function, context, concurrency:, label:)
      @channel = channel
      @function = function
      @context = context
      @concurrency = concurrency
      @label = label
      @read_lock = Mutex.new
      @eof = false
      @lock = Mutex.new
      @inflight = {} # id => Thread running it, or :cancelled
    end

    # Returns when fd 3 ends: the host closes it when it is done with the
    # worker, and invocations still running are abandoned (the caller exits,
    # which ends their threads). When every thread is busy nobody reads fd 3,
    # so the main thread also returns when the parent process is gone (the
    # host, or the shell it started the worker with, died).
    # parent is the pid of the process that started the worker, read before
    # the worker said it was ready: read here, a parent that died in between
    # would never be noticed.
    def serve(parent)
      ended = Thread::Queue.new
      @concurrency.times do
        thread = Thread.new do
          serve_loop
          ended << true
        end
        thread.abort_on_exception = true # a bug in the worker ends the process
      end
      waiter = Thread.new { ended.pop }
      waiter.join(1) until !waiter.alive? || Process.ppid != parent
    end

    private

    def serve_loop
      Thread.handle_interrupt(Cancel => :never) do
        while (job = next_invocation)
          invoke(*job)
        end
      end
    end

    # [id, payload] of the next I frame, handling C frames on the way; nil at
    # end of file. The invocation is registered before the next reader can
    # see a C frame for it.
    def next_invocation
      @read_lock.synchronize do
        until @eof
          frame = @channel.read
          break @eof = true if frame.nil?

          type, id, payload = frame
          case type
          when 'I'
            @lock.synchronize { @inflight[id] = Thread.current }
            return [id, payload]
          when 'C' then cancel(id)
          end
        end
        nil
      end
    end

    def cancel(id)
      @lock.synchronize do
        thread = @inflight[id]
        next unless thread.is_a?(Thread)

        @inflight[id] = :cancelled
        thread.raise(Cancel)
      end
    end

    def invoke(id, payload)
      streaming = false
      begin
        event = build_event(payload)
        Thread.handle_interrupt(Cancel => :immediate) do
          value = @function.call(event, @context.dup)
          status, headers, body, streamed = Response.build(value)
          if streamed
            streaming = true
            stream(id, status, headers, body)
          else
            @channel.write_with_head('S', id, head(status, headers, false), body)
          end
        end
      rescue Cancel
        nil # the host already answered 408
      rescue Exception => e # rubocop:disable Lint/RescueException
        report(id, e, streaming)
      ensure
        finish(id)
      end
    end

    # After this no Cancel targets the thread; one that arrived while it was
    # not interruptible is still pending and must not hit the next invocation.
    def finish(id)
      @lock.synchronize { @inflight.delete(id) }
      return unless Thread.pending_interrupt?

      begin
        Thread.handle_interrupt(Cancel => :immediate) { Thread.pass }
      rescue Cancel
        nil
      end
    end

    def build_event(payload)
      hlen = payload.unpack1('N')
      head = JSON.parse(payload.byteslice(4, hlen))
      body = payload.byteslice(4 + hlen, payload.bytesize - 4 - hlen)
      body.force_encoding(Encoding::UTF_8)
      body.force_encoding(Encoding::BINARY) unless body.valid_encoding?
      meta = head['event'] || {}
      event = {
        data: head['json'] ? JSON.parse(body) : body,
        'event-id': meta['event-id'],
        'event-type': meta['event-type'],
        'event-time': meta['event-time'],
        'event-namespace': meta['event-namespace'],
        extensions: { request: Request.new(head, body) }
      }
      event.default_proc = STRING_KEYS
      event
    end

    def stream(id, status, headers, body)
      @channel.write_with_head('S', id, head(status, headers, true), Channel::EMPTY)
      begin
        body.each do |chunk|
          raise TypeError, "streamed chunk is a #{chunk.class}, not a String" unless chunk.is_a?(String)

          @channel.write('D', id, chunk) unless chunk.empty?
        end
        @channel.write('E', id)
      ensure
        body.close if body.respond_to?(:close)
      end
    end

    HEADS = [TEXT_TYPE, BINARY_TYPE, JSON_TYPE].to_h do |type|
      [type, JSON.generate(status: 200, headers: [['Content-Type', type]]).freeze]
    end.freeze
    EMPTY_HEAD = JSON.generate(status: 200, headers: []).freeze

    def head(status, headers, stream)
      unless stream || status != 200
        return EMPTY_HEAD if headers.empty?
        return HEADS[headers[0][1]] if headers.size == 1 && HEADS.key?(headers[0][1]) && headers[0][0] == 'Content-Type'
      end
      JSON.generate(status: status, headers: headers, stream: stream)
    end

    def report(id, err, streaming)
      message = Kubeless.error_line(err)
      $stderr.write("kubeless: function #{@label} failed (invocation #{id}): " \
                    "#{err.full_message(highlight: false)}")
      @channel.write(streaming ? 'E' : 'X', id, message.b)
    rescue Errno::EPIPE, IOError
      nil
    end
  end

  # "<Class>: <first line of message>", for X frames.
  def self.error_line(err)
    name = (err.class.name || err.class.inspect).delete_prefix('Kubeless::Function::')
    message = err.message.to_s.scrub.each_line.first.to_s.strip
    line = message.empty? ? name : "#{name}: #{message}"
    line.length > 1000 ? "#{line[0, 997]}..." : line
  end

  # GEM_HOME from the catalog makes the function's gems requireable through
  # RubyGems. When it is unset and the volume holds a bundle installed with
  # `bundle install --path=$KUBELESS_INSTALL_VOLUME`, that bundle is used. When
  # the volume has a Gemfile.lock, Bundler.setup pins the locked versions; if
  # that fails (no bundler, missing platform...), RubyGems alone is used.
  def self.setup_gems(volume, env = ENV)
    return unless defined?(Gem)

    if env['GEM_HOME'].to_s.empty?
      guess = File.join(volume, 'ruby', RbConfig::CONFIG['ruby_version'])
      if File.directory?(guess)
        env['GEM_HOME'] = guess
        Gem.clear_paths
      end
    end
    gemfile = File.join(volume, 'Gemfile')
    return unless env['KUBELESS_BUNDLER'] != '0' && File.file?("#{gemfile}.lock") && File.file?(gemfile)

    begin
      env['BUNDLE_GEMFILE'] ||= gemfile
      require 'bundler'
      ui = Bundler.ui
      ui.respond_to?(:silence) ? ui.silence { Bundler.setup } : Bundler.setup
    rescue SignalException
      raise
    rescue Exception => e # rubocop:disable Lint/RescueException
      warn "kubeless: Bundler.setup skipped (#{error_line(e)}); gems load from GEM_HOME"
    end
  end

  def self.context(env = ENV)
    context = {
      'function-name': env.fetch('FUNC_HANDLER', ''),
      timeout: env.fetch('FUNC_TIMEOUT', '180'),
      runtime: env['FUNC_RUNTIME'].to_s.empty? ? env.fetch('RUNTIME', '') : env['FUNC_RUNTIME'],
      'memory-limit': env['FUNC_MEMORY_LIMIT'].to_s.empty? ? env.fetch('MEMORY_LIMIT', '') : env['FUNC_MEMORY_LIMIT']
    }
    context.default_proc = STRING_KEYS
    context
  end

  def self.open_channel
    input = IO.new(3, 'rb', autoclose: false)
    output = IO.new(4, 'wb', autoclose: false)
    [input, output].each { |io| io.close_on_exec = true }
    output.sync = true
    Channel.new(input, output)
  rescue Errno::EBADF, Errno::EINVAL
    warn 'kubeless.rb is a worker of kubeless-host: run it through the host ' \
         '(FUNC_PROCESS="ruby kubeless.rb"), which opens fds 3 and 4'
    exit 2
  end

  def self.main(env = ENV)
    $stdout.sync = true
    $stderr.sync = true
    Encoding.default_external = Encoding::UTF_8 if Encoding.default_external == Encoding::US_ASCII
    channel = open_channel
    parent = Process.ppid
    volume = env['KUBELESS_INSTALL_VOLUME'].to_s
    volume = env['MOD_ROOT_PATH'].to_s.empty? ? '/kubeless' : env['MOD_ROOT_PATH'] if volume.empty?
    volume = File.expand_path(volume)
    loader = Loader.new(volume: volume, mod_name: env.fetch('MOD_NAME', ''), handler: env.fetch('FUNC_HANDLER', ''))
    begin
      setup_gems(volume, env)
      function = loader.load
    rescue LoadFailure => e
      channel.write('F', 0, e.message.b)
      exit 1
    end
    concurrency = [env.fetch('KUBELESS_WORKER_CONCURRENCY', '1').to_i, 1].max
    channel.write('R', 0, JSON.generate(runtime: "ruby #{RUBY_VERSION}"))
    Worker.new(channel, function, context(env), concurrency: concurrency, label: loader.label).serve(parent)
    exit 0
  rescue Errno::EPIPE
    exit 1 # the host went away
  end
end

Kubeless.main if $PROGRAM_NAME == __FILE__
