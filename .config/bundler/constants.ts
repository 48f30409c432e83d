export const SOURCE_DIR = 'src';
export const DIST_DIR = 'dist';
// This project keeps plugin.json at the repository root (the Go build reads it there too), not in src/.
export const PLUGIN_JSON = 'plugin.json';
