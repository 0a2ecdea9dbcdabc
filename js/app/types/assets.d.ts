// Metro turns an imported asset into its URL on web (a hashed path under /assets) and
// into an asset reference number on native.
declare module "*.wasm" {
  const asset: string | number;
  export default asset;
}
