// Bundles the test pages (the plugin's editors; the dashboard preview) with React and @grafana/ui into a static
// site for the browser check (`npm run e2e:browser`), one folder per page. Unlike the plugin build, nothing is
// external: there is no Grafana to provide it.
import CopyWebpackPlugin from 'copy-webpack-plugin';
import path from 'path';
import type { Configuration } from 'webpack';

const root = path.resolve(__dirname, '..');
const PAGES = ['editors', 'dashboard'];

const config: Configuration = {
  mode: 'development',
  devtool: false,
  context: __dirname,
  entry: Object.fromEntries(PAGES.map((page) => [`${page}/page`, `./${page}/page.tsx`])),
  output: { path: path.join(__dirname, 'dist'), filename: '[name].js', clean: true },
  resolve: {
    extensions: ['.js', '.jsx', '.ts', '.tsx', '.mjs'],
    modules: [path.join(root, 'src'), 'node_modules'],
  },
  module: {
    rules: [
      {
        test: /\.[tj]sx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: { jsc: { target: 'es2020', parser: { syntax: 'typescript', tsx: true } } },
        },
      },
      // Some @grafana/ui dependencies are ES modules that omit file extensions in their imports.
      { test: /\.m?js$/, include: /node_modules/, resolve: { fullySpecified: false } },
      // @grafana/ui's .mjs files import CommonJS packages' default exports (react-custom-scrollbars-2 in the
      // table): webpack honours their __esModule flag only outside strict ES module mode.
      { test: /\.mjs$/, include: /node_modules/, type: 'javascript/auto' },
      { test: /\.css$/, use: ['style-loader', 'css-loader'] },
      { test: /\.(png|jpe?g|gif|svg|woff2?|eot|ttf|otf)$/, type: 'asset/resource' },
    ],
  },
  plugins: [
    new CopyWebpackPlugin({
      patterns: [
        ...PAGES.map((page) => ({ from: 'index.html', to: `${page}/index.html` })),
        // @grafana/ui's Icon fetches its SVGs from Grafana's public path.
        {
          from: path.join(root, 'node_modules/@grafana/ui/dist/public/img/icons'),
          to: 'public/build/img/icons',
        },
      ],
    }),
  ],
  performance: { hints: false },
};

export default config;
