-- wrk script: realistic logger.js pushes (pageload, vitals, error), as the beacon path sends
-- them (text/plain, an allowed Origin), from a pool of client addresses as the edge forwards
-- them (X-Real-IP), so that the rate limiter's bucket map is exercised too.
-- Requests are built once in init(): wrk's Lua must not be the bottleneck being measured.

local requests = {}
local counter = 0

local function push(stamp, kind, line)
  return '{"streams":[{"stream":{"app":"frontend","kind":"' .. kind ..
    '","env":"production","release":"2026.11.3"},"values":[["' .. stamp .. '",' .. line .. ']]}]}'
end

function init(args)
  -- Milliseconds as the browser has them, then the logger's "+ '000000'".
  local now = os.time() * 1000
  local lines = {
    { "pageload", '"{\\"kind\\":\\"pageload\\",\\"page\\":\\"/products/42\\",\\"ttfb\\":184,\\"dcl\\":912,\\"load\\":1630,\\"dns\\":12,\\"tcp\\":18,\\"tls\\":25,\\"transfer_size\\":48211,\\"nav_type\\":\\"navigate\\"}"' },
    { "vitals", '"{\\"kind\\":\\"vitals\\",\\"page\\":\\"/products/42\\",\\"lcp\\":2140,\\"cls\\":0.04,\\"inp\\":120}"' },
    { "error", '"{\\"kind\\":\\"error\\",\\"type\\":\\"error\\",\\"message\\":\\"TypeError: Cannot read properties of undefined (reading \'price\')\\",\\"source\\":\\"http://application/assets/index-4f2a.js\\",\\"line\\":1,\\"col\\":18342,\\"stack\\":\\"TypeError: Cannot read properties of undefined\\\\n    at renderCart (index-4f2a.js:1:18342)\\\\n    at index-4f2a.js:1:20411\\",\\"page\\":\\"/cart\\"}"' },
  }
  for i = 1, 600 do
    local pick = lines[(i % #lines) + 1]
    local stamp = tostring(now + i) .. "000000"
    requests[i] = wrk.format("POST", nil, {
      ["Content-Type"] = "text/plain;charset=UTF-8",
      ["Origin"] = "http://app.example",
      ["X-Real-IP"] = "10.0." .. (i % 4) .. "." .. (i % 250),
    }, push(stamp, pick[1], pick[2]))
  end
end

function request()
  counter = counter + 1
  if counter > #requests then counter = 1 end
  return requests[counter]
end
