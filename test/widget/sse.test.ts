import { expect } from '@open-wc/testing';
import { sseParser, type SseEvent } from '../../widget/sse.js';

/** Everything the parser makes of `chunks`, fed one after another. */
function parse(...chunks: string[]) {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const push = sseParser(
    (event) => events.push(event),
    (ms) => retries.push(ms),
  );
  for (const chunk of chunks) push(chunk);
  return { events, retries };
}

const stream =
  'retry: 1000\n\n' +
  ': keep-alive\n\n' +
  'event: balance\nid: 7\ndata: {"version":7}\n\n' +
  'event: balance\r\nid: 8\r\ndata: {"version":\r\ndata: 8}\r\n\r\n' +
  'data: plain\rdata: two\r\r';

const expected: SseEvent[] = [
  { type: 'balance', id: '7', data: '{"version":7}' },
  { type: 'balance', id: '8', data: '{"version":\n8}' },
  { type: 'message', id: '8', data: 'plain\ntwo' },
];

describe('sseParser', () => {
  it('reads events, ids, multi-line data, comments and retry, with LF, CRLF and CR', () => {
    const { events, retries } = parse(stream);
    expect(events).to.deep.equal(expected);
    expect(retries).to.deep.equal([1000]);
  });

  it('gives the same events however the text is cut into chunks', () => {
    for (let size = 1; size <= 7; size++) {
      const chunks = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.slice(at, at + size));
      expect(parse(...chunks).events, `chunks of ${size}`).to.deep.equal(expected);
    }
    // Every cut in two, among them each between a CR and its LF (with an empty chunk there too).
    for (let at = 0; at <= stream.length; at++) {
      const { events, retries } = parse(stream.slice(0, at), '', stream.slice(at));
      expect(events, `cut at ${at}`).to.deep.equal(expected);
      expect(retries).to.deep.equal([1000]);
    }
  });

  it('dispatches nothing until the blank line that ends an event', () => {
    expect(parse('event: balance\nid: 1\ndata: {}\n').events).to.deep.equal([]);
    expect(parse('event: balance\nid: 1\ndata: {}\n', '\n').events).to.have.length(1);
  });

  it('skips comments, events without data, and fields it does not know', () => {
    const { events } = parse(
      ':comment\n\n',
      'event: balance\nid: 3\n\n',
      'foo: bar\ndata\n\n',
      'event: balance\ndata: x\n\n',
    );
    // `data` without a colon is an empty line of data; the id carries over; the type does not.
    expect(events).to.deep.equal([
      { type: 'message', id: '3', data: '' },
      { type: 'balance', id: '3', data: 'x' },
    ]);
  });

  it('removes one space after the colon, no more', () => {
    expect(parse('data:a\n\ndata:  b\n\n').events.map((e) => e.data)).to.deep.equal(['a', ' b']);
  });

  it('takes retry as digits only, and ignores an id with NUL', () => {
    const { events, retries } = parse('retry: 2s\nretry: 2500\nid: 4\n\nid: 5\0\ndata: d\n\n');
    expect(retries).to.deep.equal([2500]);
    expect(events).to.deep.equal([{ type: 'message', id: '4', data: 'd' }]);
  });
});
