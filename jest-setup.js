// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';
import { configure } from '@testing-library/react';

// Auto-width Combobox measures its text on a canvas, which jsdom lacks: a fixed-width font is close enough.
HTMLCanvasElement.prototype.getContext = () => ({ measureText: (text) => ({ width: text.length * 8 }) });

// Combobox menus watch their scroll edges; jsdom has no IntersectionObserver.
global.IntersectionObserver = class {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
};

// ByRole queries skip the visibility check: with @grafana/ui's many emotion styles, jsdom's getComputedStyle on
// every ancestor makes each query take seconds. Tests assert presence and names, not CSS visibility.
configure({ defaultHidden: true, asyncUtilTimeout: 5000 });
