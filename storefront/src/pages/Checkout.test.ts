import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/client';
import type { Order } from '../api/types';
import { CheckoutAttempt } from './Checkout';

const order = { id: 'o1' } as Order;

describe('one Idempotency-Key per checkout attempt', () => {
  it('a double click sends once, and the answer reaches both clicks', async () => {
    const attempt = new CheckoutAttempt();
    const keys: string[] = [];
    let answer: (o: Order) => void = () => {};
    const send = (key: string) => {
      keys.push(key);
      return new Promise<Order>((resolve) => (answer = resolve));
    };
    const first = attempt.submit(send);
    const second = attempt.submit(send);
    answer(order);
    expect(await first).toBe(order);
    expect(await second).toBe(order);
    expect(keys).toHaveLength(1);
  });

  it('a retry after a lost answer or an overload reuses the key, so it cannot make a second order', async () => {
    const attempt = new CheckoutAttempt();
    const keys: string[] = [];
    await attempt
      .submit(async (key) => {
        keys.push(key);
        throw new ApiError({ type: 'about:blank', title: 'Network error', status: 0 });
      })
      .catch(() => {});
    await attempt
      .submit(async (key) => {
        keys.push(key);
        throw new ApiError({ type: 'x/overloaded', title: 'Service Unavailable', status: 503 });
      })
      .catch(() => {});
    await attempt.submit(async (key) => {
      keys.push(key);
      return order;
    });
    expect(new Set(keys).size).toBe(1);
  });

  it('a refused attempt or a changed form starts a new attempt with a new key', async () => {
    const attempt = new CheckoutAttempt();
    const keys: string[] = [];
    await attempt
      .submit(async (key) => {
        keys.push(key);
        throw new ApiError({ type: 'x/validation', title: 'Unprocessable Entity', status: 422 });
      })
      .catch(() => {});
    const afterRefusal = attempt.keyForSubmit();
    attempt.changed();
    const afterChange = attempt.keyForSubmit();
    expect(new Set([keys[0], afterRefusal, afterChange]).size).toBe(3);
  });
});
