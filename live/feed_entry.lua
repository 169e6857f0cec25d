-- One change on the feed, as live/feed.py reads it: `k` its kind (conference, ended,
-- transcript, card, agent, task, ...), `sid` what it is about, `doc` the JSON document.
-- Every script that writes the feed writes its entries with this one function (issue 24
-- §5: the entry was written by hand in ten places); live/scripts.py puts it before each.
local function feed_add(feed, maxlen, kind, sid, doc)
  return redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'k', kind, 'sid', sid, 'doc', doc)
end
