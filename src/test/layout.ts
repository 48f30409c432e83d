/**
 * Gives every element a size. jsdom lays nothing out, and Combobox renders only the options its virtualised
 * menu (@tanstack/virtual-core reads clientWidth/clientHeight) finds room for: none at size 0.
 */
export function giveElementsASize(width = 400, height = 400) {
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => width });
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => height });
}
