import { describe, expect, it } from 'vitest';
import { parseEvents } from './sse';

describe('server-sent events', () => {
  it('yields complete events and keeps an unfinished one for the next chunk', () => {
    const first = parseEvents(
      'event: status\ndata: {"state":"awaiting_payment"}\n\n: keep-alive\n\nevent: status\ndata: {"state":"conf',
    );
    expect(first.events).toEqual([{ event: 'status', data: '{"state":"awaiting_payment"}' }]);
    const second = parseEvents(`${first.rest}irmed"}\r\n\r\n`);
    expect(second.events).toEqual([{ event: 'status', data: '{"state":"confirmed"}' }]);
    expect(second.rest).toBe('');
  });
});
