/**
 * UTF-8 `TextEncoder`/`TextDecoder` for JS engines without them (Hermes has no
 * `TextDecoder`, and older Hermes neither). The engine's glue passes every string across
 * the boundary as UTF-8; only what it uses is here: `encode`, and `decode` of a byte view
 * (invalid sequences become U+FFFD, as the standard decoder's non-fatal mode does).
 * Installed on the global object only where missing, when this module is imported
 * (engine.ts imports it before either build's glue).
 */

class Utf8Encoder {
  readonly encoding = "utf-8";

  encode(text = ""): Uint8Array {
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // a lone surrogate
      if (code < 0x80) bytes.push(code);
      else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
      else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
      else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    }
    return new Uint8Array(bytes);
  }
}

class Utf8Decoder {
  readonly encoding = "utf-8";

  decode(input?: ArrayBufferView | ArrayBuffer): string {
    if (input === undefined) return "";
    const bytes =
      input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    let out = "";
    let chunk: number[] = [];
    const flush = () => {
      out += String.fromCharCode.apply(null, chunk);
      chunk = [];
    };
    for (let i = 0; i < bytes.length; ) {
      const first = bytes[i] as number;
      const need = first < 0x80 ? 0 : first >= 0xf0 && first < 0xf5 ? 3 : first >= 0xe0 ? 2 : first >= 0xc2 ? 1 : -1;
      let code = need === 0 ? first : need === 1 ? first & 31 : need === 2 ? first & 15 : first & 7;
      let valid = need >= 0 && i + need < bytes.length;
      for (let k = 1; valid && k <= need; k++) {
        const next = bytes[i + k] as number;
        if ((next & 0xc0) !== 0x80) valid = false;
        else code = (code << 6) | (next & 63);
      }
      const minimum = need === 1 ? 0x80 : need === 2 ? 0x800 : need === 3 ? 0x10000 : 0;
      if (!valid || code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        chunk.push(0xfffd);
        i += 1;
      } else {
        if (code >= 0x10000) {
          code -= 0x10000;
          chunk.push(0xd800 + (code >> 10), 0xdc00 + (code & 1023));
        } else {
          chunk.push(code);
        }
        i += need + 1;
      }
      if (chunk.length >= 4096) flush();
    }
    flush();
    return out;
  }
}

const global = globalThis as { TextEncoder?: unknown; TextDecoder?: unknown };
global.TextEncoder ??= Utf8Encoder;
global.TextDecoder ??= Utf8Decoder;

export {};
