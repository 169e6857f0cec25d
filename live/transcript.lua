-- A live call's transcript: lines from Twilio's transcription callbacks, and its state.
--
-- KEYS[1] change feed (stream), KEYS[2] the live index (sorted set of live conferences),
-- KEYS[3] changes to archived calls (list, archive/archiver.py reads it: live/late.py)
-- then, for each event i (from 0): KEYS[4+5i] the conference document,
-- KEYS[5+5i] the transcript's index (sorted set "<TranscriptionSid>:<SequenceId>" -> ms),
-- KEYS[6+5i] its final lines (hash, same members -> line JSON),
-- KEYS[7+5i] its registers (hash: per transcription and track the newest final's
--   SequenceId "<GT>|<speaker>|f" and the newest partial "<GT>|<speaker>|p"; "ctx", until
--   when lines are masked harder because the call spoke of a card; "paused" while paused;
--   the number window: "wd" digits left in the clear, "wa" when the last came, "wl" its
--   lines, each with its masked text); "lj" and "la": the conference's last line as this
--   script last wrote it, its JSON and its `at` (a final sets it without decoding the
--   document where the document still holds exactly that),
-- KEYS[8+5i] the archiver's seal of the conference (exists once it read the call)
-- ARGV[1] feed MAXLEN, ARGV[2] final lines kept per call, ARGV[3] seconds the transcript
-- is kept after its first line, ARGV[4] ms the card context lasts, ARGV[5] ms a number
-- window stays open after its last number, ARGV[6] digits that make a card,
-- ARGV[7..] the events, JSON (live/transcript.py)
--
-- Returns {outcome1, feed id1 or "", ...}. Outcomes: applied, corrected (applied, and
-- earlier lines were masked: see the number window below), duplicate, stale (a partial
-- older than a final of its track), paused (nothing is kept while a call is paused for a
-- payment), late (a final of a call that ended, kept with its transcript), archived (the
-- same, once the archiver read the call: also queued for its archive record), ended (a
-- partial or a state change of a call that ended), unknown (no such conference), unchanged.
--
-- A final that arrives after the call ended still belongs to it (Twilio sends the last
-- utterance's final after the hang-up): it joins the transcript in Redis exactly as a live
-- line would (masking, card context, pause), the ended document's last line and phrase
-- hits included, but nothing of it announces the conference again; partials of an ended
-- call are dropped (only finals are archived).
--
-- Cost: a line is the hot path (a partial every few hundred ms per speaking call). A
-- partial never reads the conference document (its liveness is the live index, its pause
-- a register); a final reads and writes it (the call's last line, phrase hits) but puts
-- the conference on the feed only when a phrase alert changes it: the line itself goes
-- out as a `transcript` entry, and readers of the floor see the last line on their next
-- read. The board hub reads nothing: an entry whose line became the last line says so
-- (`l`), and the hub's next pass, which that very entry wakes, sets it on its kept call.
--
-- Why the transcript does not depend on arrival order: a final line is kept under its
-- SequenceId (a repeat is a duplicate); a track's partial is a register that only a newer
-- SequenceId replaces, and any final at or after it removes; so the lines shown are the
-- finals and, per track, the newest partial newer than every final: the same set in any
-- order. The conference's last line is the newest final by time.
--
-- The number window (issue 22; the rules are live/redact.py's): a line comes with `nd`, the
-- digits of its plain numbers, `tc`, the line with them masked, and `th`, the line with them
-- `[digits]` (what the last line and a phrase hit show of it). While lines with numbers
-- come within ARGV[5] ms of each other, the digits add up; when they reach a card's length
-- (or a line speaks of a card while the window holds some), the call is reading a card:
-- the line is kept masked, every earlier line of the window is masked where it is kept (its
-- final, its partial) and sent again masked (a client replaces a line by its id), and the
-- card context opens. What the feed itself holds of a window line is masked from the start
-- (`h`: its reader sends the line as kept, live/feed.py), and so are the conference's last
-- line and phrase hits (the document goes out on the feed from other scripts too): nothing
-- to take back there. Python has Redis rewrite its append-only file after a correction, so
-- the file forgets the clear lines too (live/forget.py).

local FEED, LIVE, LATE = KEYS[1], KEYS[2], KEYS[3]
local maxlen = ARGV[1]
local max_lines = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local ctx_ms = tonumber(ARGV[4])
local window_ms = tonumber(ARGV[5])
local card_digits = tonumber(ARGV[6])
local MAX_HITS = 20

-- `raw`: the line's JSON when the caller has it already (a line is encoded once).
-- `last`: the line became its conference's last line (`tx.last`), which the entry says
-- with `l` (its text as the entry holds it, `at`, `s`): the board hub sets its kept
-- call's last line from the entry instead of reading the conference again
-- (live/board_floor.py).
local function publish(sid, line, held, raw, last)
  if held then
    -- A line of the number window goes on the feed masked, marked `h`: the feed's reader
    -- sends the line as it is kept now (live/feed.py), so the stream's entries never hold
    -- digits a correction may have to take back (an XDEL leaves them in the stream's node).
    local doc = {s = line.s, t = held, at = line.at, q = line.q, f = line.f, g = line.g, h = 1}
    if last then doc.l = 1 end
    return feed_add(FEED, maxlen, 'transcript', sid, cjson.encode(doc))
  end
  raw = raw or cjson.encode(line)
  -- (`raw` is an object this script encoded: it ends with its closing brace)
  if last then raw = string.sub(raw, 1, -2) .. ',"l":1}' end
  return feed_add(FEED, maxlen, 'transcript', sid, raw)
end

-- The SequenceId of a kept line (a register's or a final's JSON, which this script wrote):
-- read without decoding the line. `"q":` can only be the key: inside a JSON string a quote
-- is escaped.
local function seq_of(raw)
  return tonumber(string.match(raw, '"q":(%-?%d+)'))
end

local function save(DOC, c, announce)
  local doc = cjson.encode(c)
  redis.call('SET', DOC, doc, 'KEEPTTL')
  if announce then
    feed_add(FEED, maxlen, 'conference', c.sid, doc)
  end
end

-- The window judged a card: its earlier lines masked where they are kept, and sent again
-- masked (see the header). The feed and the conference document never held them.
local function correct(sid, LINES, REGS, window)
  for _, w in ipairs(window) do
    local key, raw = w.m, nil
    if key then raw = redis.call('HGET', LINES, key) else raw = redis.call('HGET', REGS, w.p) end
    if raw then
      local l = cjson.decode(raw)
      if l.q == w.q and l.t ~= w.tc then
        l.t = w.tc
        if key then redis.call('HSET', LINES, key, cjson.encode(l))
        else redis.call('HSET', REGS, w.p, cjson.encode(l)) end
        publish(sid, l)
      end
    end
  end
end

local function line_one(ev, sid, DOC, IDX, LINES, REGS, ended, sealed)
  local fkey = ev.gt .. '|' .. ev.s .. '|f'
  local pkey = ev.gt .. '|' .. ev.s .. '|p'
  -- Every register a line may need, in one read.
  local regs = redis.call('HMGET', REGS, 'paused', 'ctx', 'wd', 'wa', 'wl', fkey, pkey, 'lj', 'la')
  if regs[1] then return 'paused', '' end
  local card_until = tonumber(regs[2] or '0')
  local in_card = ev.at <= card_until
  local text = ev.t
  if ev.tc and in_card then text = ev.tc end
  -- A late line of a call the archiver already read cannot join a number window: the lines it
  -- would correct are in the archive record as they were. Its plain numbers are masked.
  if sealed and ev.tc then text = ev.tc end
  local outcome = 'applied'
  local wd, wa = tonumber(regs[3] or '0'), tonumber(regs[4] or '0')
  local window = {}
  if ev.at - wa > window_ms then wd = 0 elseif regs[5] then window = cjson.decode(regs[5]) end
  local nd = ev.nd or 0
  -- The number window, once the line is known to be new: what earlier lines left in the
  -- clear adds up with this line's digits.
  local function judge()
    if (wd > 0 and ev.card) or (nd > 0 and not in_card and wd + nd >= card_digits) then
      if ev.tc then text = ev.tc end
      correct(sid, LINES, REGS, window)
      redis.call('HDEL', REGS, 'wd', 'wa', 'wl')
      wd, window, in_card, nd = 0, {}, true, 0
      outcome = 'corrected'
      local later = ev.at + ctx_ms
      if later > card_until then redis.call('HSET', REGS, 'ctx', later) end
      card_until = later
    end
    if ev.card then
      local later = ev.at + ctx_ms
      if later > card_until then redis.call('HSET', REGS, 'ctx', later) end
    end
  end
  -- A line that leaves digits of a plain number in the clear joins the window.
  local function joins()
    return nd > 0 and not in_card and ev.tc ~= nil and text ~= ev.tc
  end
  local function remember(member)
    if not joins() then return end
    local entry = {g = ev.gt, q = ev.seq, s = ev.s, at = ev.at, tc = ev.tc, m = member,
      p = (member == nil) and (ev.gt .. '|' .. ev.s .. '|p') or nil}
    local replaced = false
    if member == nil then
      -- One entry per speaker's partial: the newest (its register holds only that one).
      for i, w in ipairs(window) do
        if w.p == entry.p then window[i], replaced = entry, true end
      end
    end
    if not replaced then table.insert(window, entry) end
    if ev.final then wd = wd + nd end
    redis.call('HSET', REGS, 'wd', wd, 'wa', ev.at, 'wl', cjson.encode(window))
  end
  local final_seq = tonumber(regs[6] or '-1')
  -- The track's partial as it was before this line (a correction below may mask its text,
  -- never its SequenceId, which is all that is read of it).
  local partial_seq = nil
  if regs[7] then partial_seq = seq_of(regs[7]) end

  if not ev.final then
    if ev.seq <= final_seq then return 'stale', '' end
    if partial_seq and partial_seq >= ev.seq then return 'duplicate', '' end
    judge()
    local line = {s = ev.s, t = text, at = ev.at, q = ev.seq, f = ev.final, g = ev.gt}
    local raw = cjson.encode(line)
    redis.call('HSET', REGS, pkey, raw)
    if final_seq < 0 then redis.call('EXPIRE', REGS, ttl) end  -- dated once, at its start
    local id = publish(sid, line, joins() and (ev.th or ev.tc), raw)
    remember(nil)
    return outcome, id
  end

  local member = ev.gt .. ':' .. ev.seq
  if redis.call('ZADD', IDX, 'NX', ev.at, member) == 0 then return 'duplicate', '' end
  judge()
  local line = {s = ev.s, t = text, at = ev.at, q = ev.seq, f = ev.final, g = ev.gt}
  local raw = cjson.encode(line)
  redis.call('HSET', LINES, member, raw)
  local kept = redis.call('ZCARD', IDX)
  if kept == 1 then
    -- The transcript's keys are dated when it starts: kept `ttl` after (its archive copy is
    -- made when the call ends; a live call does not last a day).
    for _, k in ipairs({IDX, LINES, REGS}) do redis.call('EXPIRE', k, ttl) end
  end
  local extra = kept - max_lines
  if extra > 0 then
    -- A long call keeps its newest lines: the transcript of a live call is bounded.
    local gone = redis.call('ZPOPMIN', IDX, extra)
    for i = 1, #gone, 2 do redis.call('HDEL', LINES, gone[i]) end
  end
  if ev.seq > final_seq then
    redis.call('HSET', REGS, fkey, ev.seq)
    if partial_seq and partial_seq < ev.seq then redis.call('HDEL', REGS, pkey) end
  end
  -- A transcript whose first line is a final (no partial before it) made its registers
  -- just now, after the EXPIRE above found no key to date: dated here, or kept for ever.
  if kept == 1 then redis.call('EXPIRE', REGS, ttl) end
  -- The floor's last line and a phrase hit never show a number the window may yet judge
  -- part of a card (the document goes out on the feed from any script).
  local shown = text
  if joins() then shown = ev.th or ev.tc end
  local stored = redis.call('GET', DOC)
  -- Setting the last line without decoding the document (a final line's main cost here):
  -- the registers keep the last line as this script last wrote it into the document
  -- (`lj`, its JSON, and `la`, its `at`). Where the document holds exactly that text once,
  -- it is the document's last line (`"last":` is tx's key alone, and inside a JSON string
  -- a quote is escaped), and the new one replaces it in the text. Anything else (a phrase
  -- hit to add, the call's first line, a document another script wrote since with its
  -- keys in another order) decodes the document, as always.
  local from, to = nil, nil
  if stored and not ev.hits and regs[8] and regs[9] then
    local was = '"last":' .. regs[8]
    from, to = string.find(stored, was, 1, true)
    if from and string.find(stored, was, to + 1, true) then from = nil end
  end
  local c, tx, last = nil, nil, false
  if from then
    last = ev.at >= tonumber(regs[9])
  elseif stored then
    c = cjson.decode(stored)
    tx = c.tx or {}
    last = tx.last == nil or ev.at >= tx.last.at
  end
  -- (the entry's text is `shown`: the held line's masked text, or the line as kept)
  local id = publish(sid, line, joins() and (ev.th or ev.tc), raw, last)
  remember(member)
  if not stored then return outcome, id, line end
  local now_last = {s = ev.s, t = shown, at = ev.at}
  if from then
    if last then
      -- (the document encodes this very table the same way: cjson walks it in one order)
      local encoded = cjson.encode(now_last)
      redis.call('SET', DOC, string.sub(stored, 1, from - 1) .. '"last":' .. encoded
        .. string.sub(stored, to + 1), 'KEEPTTL')
      redis.call('HSET', REGS, 'lj', encoded, 'la', ev.at)
    end
    return outcome, id, line
  end
  local changed, alerting = false, false
  if last then
    tx.last = now_last
    changed = true
  end
  if ev.hits then
    if c.ph == nil then c.ph = {} end
    for _, phrase in ipairs(ev.hits) do
      table.insert(c.ph, {p = phrase, s = ev.s, t = shown, at = ev.at})
    end
    while #c.ph > MAX_HITS do table.remove(c.ph, 1) end
    changed, alerting = true, true
  end
  if changed then
    c.tx = tx
    save(DOC, c, alerting and not ended)
    if last then redis.call('HSET', REGS, 'lj', cjson.encode(now_last), 'la', ev.at) end
  end
  return outcome, id, line
end

-- The transcription's own state: started, stopped, failed (Twilio's callbacks and
-- answers), pause / resume (a payment), mute (a supervisor silences the phrase alerts
-- raised so far on this call).
local function state_one(ev, c, DOC, REGS)
  local tx = c.tx or {}
  local before = cjson.encode(tx)
  local what = ev.what
  if what == 'started' then
    if tx.st ~= 'paused' then
      tx.st = 'on'
      tx.gt = ev.gt
      tx.call = ev.call
      tx.err = nil
      if ev.lang then tx.lang = ev.lang end
    end
  elseif what == 'stopped' then
    if tx.gt == ev.gt and (tx.st == 'on' or tx.st == 'error') then tx.st = 'off' end
  elseif what == 'failed' then
    if tx.gt == nil or tx.gt == ev.gt then
      tx.st = 'error'
      tx.err = ev.err
    end
  elseif what == 'pause' then
    if tx.st == 'paused' then return 'unchanged', '' end
    tx.st = 'paused'
    tx.by = ev.by
    tx.since = ev.at
    redis.call('HSET', REGS, 'paused', '1')
    redis.call('EXPIRE', REGS, ttl)
  elseif what == 'resume' then
    if tx.st ~= 'paused' then return 'unchanged', '' end
    tx.st = 'off'
    tx.by = nil
    tx.since = ev.at
    redis.call('HDEL', REGS, 'paused')
  elseif what == 'mute' then
    if c.phm == nil then c.phm = {} end
    local any = false
    for _, hit in ipairs(c.ph or {}) do
      if c.phm[hit.p] == nil then
        c.phm[hit.p] = {by = ev.by, at = ev.at}
        any = true
      end
    end
    if not any then return 'unchanged', '' end
    save(DOC, c, true)
    return 'applied', ''
  end
  if cjson.encode(tx) == before then return 'unchanged', '' end
  c.tx = tx
  save(DOC, c, true)
  return 'applied', ''
end

local out = {}
for i = 7, #ARGV do
  local base = 4 + 5 * (i - 7)
  local DOC, REGS, SEAL = KEYS[base], KEYS[base + 3], KEYS[base + 4]
  local ev = cjson.decode(ARGV[i])
  local outcome, id = 'unknown', ''
  if ev.op == 'line' then
    if redis.call('ZSCORE', LIVE, ev.cf) then
      outcome, id = line_one(ev, ev.cf, DOC, KEYS[base + 1], KEYS[base + 2], REGS, false, false)
    else
      local sealed = redis.call('EXISTS', SEAL) == 1
      if sealed or redis.call('EXISTS', DOC) == 1 then
        outcome = 'ended'
        if ev.final then
          local line
          outcome, id, line = line_one(ev, ev.cf, DOC, KEYS[base + 1], KEYS[base + 2], REGS, true,
            sealed)
          if outcome == 'applied' or outcome == 'corrected' then
            outcome = 'late'
            if sealed then
              redis.call('RPUSH', LATE, cjson.encode({k = 'line', sid = ev.cf, line = line}))
              outcome = 'archived'
            end
          end
        end
      end
    end
  else
    local raw = redis.call('GET', DOC)
    if raw then
      local c = cjson.decode(raw)
      if c.status == 'completed' then
        outcome = 'ended'
      else
        outcome, id = state_one(ev, c, DOC, REGS)
      end
    end
  end
  out[#out + 1] = outcome
  out[#out + 1] = id
end
return out
