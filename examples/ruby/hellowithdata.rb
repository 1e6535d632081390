# POST example (handler hellowithdata.handler): prints the event (see
# `kubeless function logs post-ruby`) and answers its data as JSON:
# `kubeless function call post-ruby --data '{"it-s": "alive"}'` answers
# {"it-s":"alive"}.
def handler(event, context)
  puts event
  JSON.generate(event[:data])
end
