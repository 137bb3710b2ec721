/** One server-sent event, as the HTML standard's parser dispatches it. */
export interface SseEvent {
  /** `event:` (default `message`). */
  type: string;
  /** The `data:` lines joined by `\n`. */
  data: string;
  /** The last `id:` seen on the stream so far (it carries over to later events). */
  id: string;
}

/**
 * A parser for `text/event-stream` text, fed in chunks cut anywhere (even
 * between the CR and LF of a line end). Follows the HTML standard's rules:
 * lines end in CRLF, LF or CR; `:` starts a comment; a field's value loses one
 * leading space; `data` lines join with `\n`; an event with no `data` is not
 * dispatched; `id` persists (one containing NUL is ignored); `retry` takes
 * digits only. Decode the bytes first (`TextDecoder`, which drops a BOM).
 *
 * @example
 * const parse = sseParser((event) => console.log(event.type, event.data), (ms) => (retryMs = ms));
 * parse('event: balance\nid: 7\ndata: {"version":7}\n\n');
 */
export function sseParser(
  onEvent: (event: SseEvent) => void,
  onRetry: (ms: number) => void = () => {},
  onComment: () => void = () => {},
): (chunk: string) => void {
  let buffer = '';
  /** The last chunk ended in CR: an LF opening the next one belongs to it. */
  let afterCr = false;
  let type = '';
  let data: string[] = [];
  let id = '';

  const line = (text: string) => {
    if (!text) {
      if (data.length) onEvent({ type: type || 'message', data: data.join('\n'), id });
      type = '';
      data = [];
      return;
    }
    const colon = text.indexOf(':');
    if (colon === 0) return onComment();
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') {
      if (!value.includes('\0')) id = value;
    } else if (field === 'retry' && /^\d+$/.test(value)) onRetry(Number(value));
  };

  return (chunk) => {
    if (!chunk) return; // (keeps a CR waiting for its LF)
    if (afterCr && chunk[0] === '\n') chunk = chunk.slice(1);
    afterCr = false;
    // What is buffered has no line end: look for them in the new text only.
    let i = buffer.length;
    buffer += chunk;
    let start = 0;
    for (; i < buffer.length; i++) {
      const c = buffer[i];
      if (c !== '\r' && c !== '\n') continue;
      line(buffer.slice(start, i));
      if (c === '\r') {
        if (i + 1 === buffer.length) afterCr = true;
        else if (buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    buffer = buffer.slice(start);
  };
}
