import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';

export const CURRENCIES = ['USD', 'EUR'] as const;
export type Currency = (typeof CURRENCIES)[number];
const KEY = 'bazaar.currency';

interface CurrencyContextValue {
  currency: Currency;
  setCurrency: (currency: Currency) => void;
}

const CurrencyContext = createContext<CurrencyContextValue>({ currency: 'USD', setCurrency: () => {} });

function initial(): Currency {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && (CURRENCIES as readonly string[]).includes(saved)) return saved as Currency;
  } catch {
    // no storage
  }
  return 'USD';
}

export function CurrencyProvider({ children }: { children: ReactNode }) {
  const [currency, setState] = useState<Currency>(initial);
  const setCurrency = useCallback((next: Currency) => {
    setState(next);
    try {
      localStorage.setItem(KEY, next);
    } catch {
      // no storage
    }
  }, []);
  return <CurrencyContext.Provider value={{ currency, setCurrency }}>{children}</CurrencyContext.Provider>;
}

export function useCurrency(): CurrencyContextValue {
  return useContext(CurrencyContext);
}
