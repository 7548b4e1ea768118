-- Cycles through pre-signed requests (one per line: path<TAB>body); threads take disjoint slices.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths, bodies = {}, {}
  local n = 0
  nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    n = n + 1
    if n % nthreads == tid then
      local tab = string.find(line, "\t", 1, true)
      table.insert(paths, string.sub(line, 1, tab - 1))
      table.insert(bodies, string.sub(line, tab + 1))
    end
  end
  idx = 0
  headers = { ["Content-Type"] = "text/xml" }
end

function request()
  idx = idx % #paths + 1
  return wrk.format("POST", paths[idx], headers, bodies[idx])
end

