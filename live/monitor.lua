-- A supervisor's monitor of a live conference: claim, attach, connect, set mode, remove.
--
-- KEYS[1] the conference document (JSON string)
-- KEYS[2] change feed (stream)
-- KEYS[3] supervisor index: hash supervisor -> ConferenceSid (one call at a time)
-- KEYS[4] leg index: hash supervisor leg CallSid -> "<supervisor> <ConferenceSid>"
-- KEYS[5] dialing legs: sorted set CallSid -> ms since dialing began
-- ARGV[1] the operation; ARGV[2] its arguments (JSON); ARGV[3] feed MAXLEN
--
-- Operations: claim, attach, connected, mode, leaving, remove; and, not monitors,
-- caller (the customer's number), help / unhelp, card.
-- Returns {result, detail, monitor JSON or ""}. The rules that need to be
-- atomic live here: one whisperer per call, one call per supervisor, and no
-- monitor on a conference that is not live.

local op = ARGV[1]
local a = cjson.decode(ARGV[2])
local maxlen = ARGV[3]

local raw = redis.call('GET', KEYS[1])
if not raw then return {'unknown', '', ''} end
local c = cjson.decode(raw)
if c.status == 'completed' then return {'ended', '', ''} end
if c.mon == nil then c.mon = {} end

local function save()
  local doc = cjson.encode(c)
  redis.call('SET', KEYS[1], doc)
  feed_add(KEYS[2], maxlen, 'conference', c.sid, doc)
end

local function whisperer(except)
  for sup, m in pairs(c.mon) do
    if m.mode == 'whisper' and sup ~= except then return sup end
  end
  return nil
end

local function encode(m)
  if m == nil then return '' end
  return cjson.encode(m)
end

-- Whether `a.sup` may whisper: {nil, displaced or ''} when it may (a takeover
-- puts the current whisperer back to listen), {who} when someone else
-- whispers and no takeover was asked for.
local function take_whisper()
  if a.mode ~= 'whisper' then return nil, '' end
  local who = whisperer(a.sup)
  if who == nil then return nil, '' end
  if not a.takeover then return who, '' end
  c.mon[who].mode = 'listen'
  c.mon[who].since = a.now
  c.mon[who].note = 'whisper taken over by ' .. a.sup
  return nil, who
end

-- Not a monitor: the customer's number, read from Twilio once the customer joined.
if op == 'caller' then
  local p = (c.p or {})[a.call]
  if p == nil or p.number == a.number then return {'unchanged', '', ''} end
  p.number = a.number
  save()
  return {'ok', '', ''}
end

-- An agent's help request (the `help` alert), until a supervisor joins or it is cancelled.
if op == 'help' then
  if c.help and c.help.agent == a.agent then return {'unchanged', '', ''} end
  c.help = {agent = a.agent, call_sid = a.call, at = a.now}
  save()
  return {'ok', '', ''}
end
if op == 'unhelp' then
  if not c.help then return {'unchanged', '', ''} end
  local was = c.help.agent
  c.help = nil
  save()
  return {'ok', was, ''}
end
-- A supervisor's text card to the agent: kept on the call (the newest few)
-- and sent on the feed as its own event, for the agent's softphone.
if op == 'card' then
  local card = {supervisor = a.sup, text = a.text, at = a.now, call_sid = a.call,
                conference_sid = c.sid, agent = a.agent}
  if c.cards == nil then c.cards = {} end
  table.insert(c.cards, card)
  while #c.cards > 20 do table.remove(c.cards, 1) end
  save()
  local encoded = cjson.encode(card)
  feed_add(KEYS[2], maxlen, 'card', c.sid, encoded)
  return {'ok', '', encoded}
end

local m = c.mon[a.sup]

if op == 'claim' then
  local elsewhere = redis.call('HGET', KEYS[3], a.sup)
  if elsewhere and elsewhere ~= c.sid then return {'elsewhere', elsewhere, ''} end
  if m then return {'exists', '', encode(m)} end
  local taken, displaced = take_whisper()
  if taken then return {'whisper-taken', taken, ''} end
  m = {supervisor = a.sup, conference_sid = c.sid, call_sid = '', mode = a.mode,
       since = a.now, status = 'dialing'}
  c.mon[a.sup] = m
  redis.call('HSET', KEYS[3], a.sup, c.sid)
  save()
  return {'ok', displaced, encode(m)}
end

if m == nil then return {'absent', '', ''} end

if op == 'attach' then
  m.call_sid = a.call
  redis.call('HSET', KEYS[4], a.call, a.sup .. ' ' .. c.sid)
  if m.status == 'dialing' then redis.call('ZADD', KEYS[5], a.now, a.call) end
  save()
  return {'ok', '', encode(m)}
end

if op == 'connected' then
  if m.call_sid ~= '' and a.call ~= m.call_sid then return {'other-leg', '', encode(m)} end
  if m.call_sid == '' then
    m.call_sid = a.call
    redis.call('HSET', KEYS[4], a.call, a.sup .. ' ' .. c.sid)
  end
  redis.call('ZREM', KEYS[5], a.call)
  if m.status ~= 'connected' then
    m.status = 'connected'
    save()
    return {'ok', 'changed', encode(m)}
  end
  return {'ok', '', encode(m)}
end

if op == 'mode' then
  local taken, displaced = take_whisper()
  if taken then return {'whisper-taken', taken, encode(m)} end
  m.mode = a.mode
  m.since = a.now
  m.note = a.note
  save()
  return {'ok', displaced, encode(m)}
end

if op == 'leaving' then
  -- The app is hanging this leg up: its leave callback is not a hang-up.
  m.leaving = a.value
  redis.call('SET', KEYS[1], cjson.encode(c))
  return {'ok', '', encode(m)}
end

if op == 'remove' then
  -- A callback about an older leg of this supervisor must not remove the new one.
  if a.call and a.call ~= '' and m.call_sid ~= '' and m.call_sid ~= a.call then
    return {'other-leg', '', encode(m)}
  end
  c.mon[a.sup] = nil
  if redis.call('HGET', KEYS[3], a.sup) == c.sid then redis.call('HDEL', KEYS[3], a.sup) end
  if m.call_sid ~= '' then
    redis.call('HDEL', KEYS[4], m.call_sid)
    redis.call('ZREM', KEYS[5], m.call_sid)
  end
  save()
  return {'ok', '', encode(m)}
end

return redis.error_reply('unknown monitor operation ' .. op)
