-- Wireshark dissector for ferrule frames (docs/PROTOCOL.md), wire format versions 1 and 2.
--
-- Captures written by `ferrule ... --capture FILE.pcapng` use
--   LINKTYPE_USER0 (147, DLT_USER0): one datagram per packet, the frame body;
--   LINKTYPE_USER1 (148, DLT_USER1): one stream frame per packet as on the wire, COBS-encoded,
--                                    with its 0x00 delimiter (this dissector decodes the COBS).
-- The version is the high nibble of byte 0; both versions decode.
--
-- Use: wireshark -X lua_script:tools/wireshark/ferrule.lua capture.pcapng
--      tshark -X lua_script:tools/wireshark/ferrule.lua -r capture.pcapng -T fields \
--             -e ferrule.type -e ferrule.channel -e ferrule.seq -e ferrule.text
-- or copy this file into Wireshark's personal Lua plugins folder (Help > About > Folders).
-- Every field is under "ferrule." (filter e.g. `ferrule.type == 1 && ferrule.channel == 3`).

local bit = bit32 or bit

local ferrule = Proto("ferrule", "ferrule link frame")
local ferrule_cobs = Proto("ferrule_stream", "ferrule stream framing (COBS)")

local TYPES = {
    [0] = "DATA", [1] = "RDATA", [2] = "ACK", [3] = "HELLO", [4] = "HELLO_ACK",
    [5] = "PING", [6] = "CLOSE", [7] = "PARITY",
}
local CRC_STATUS = { [0] = "Bad", [1] = "Good" }

local F = ferrule.fields
local f = {
    version = ProtoField.uint8("ferrule.version", "Version", base.DEC, nil, 0xF0),
    type = ProtoField.uint8("ferrule.type", "Type", base.DEC, TYPES, 0x0F),
    type_name = ProtoField.string("ferrule.type_name", "Type name"),
    flags = ProtoField.uint8("ferrule.flags", "Flags", base.HEX),
    f_compressed = ProtoField.bool("ferrule.flags.compressed", "COMPRESSED", 8, nil, 0x01),
    f_shared = ProtoField.bool("ferrule.flags.shared", "SHARED", 8, nil, 0x02),
    f_dict = ProtoField.bool("ferrule.flags.dict", "DICT", 8, nil, 0x04),
    f_seq = ProtoField.bool("ferrule.flags.seq", "SEQ", 8, nil, 0x08),
    f_ack = ProtoField.bool("ferrule.flags.ack", "ACK", 8, nil, 0x10),
    f_sack = ProtoField.bool("ferrule.flags.sack", "SACK", 8, nil, 0x20),
    f_aead = ProtoField.bool("ferrule.flags.aead", "AEAD", 8, nil, 0x40),
    f_ext = ProtoField.bool("ferrule.flags.ext", "EXT (v2) / reserved (v1)", 8, nil, 0x80),
    channel = ProtoField.uint8("ferrule.channel", "Channel", base.DEC),
    session = ProtoField.uint8("ferrule.session", "Session tag", base.HEX),
    seq = ProtoField.uint16("ferrule.seq", "Sequence number", base.DEC),
    ack = ProtoField.uint16("ferrule.ack", "Acknowledgement (next expected)", base.DEC),
    window = ProtoField.uint8("ferrule.window", "Window", base.DEC),
    sack = ProtoField.uint32("ferrule.sack", "SACK bitmap (ack+1+i received)", base.HEX),
    xflags = ProtoField.uint8("ferrule.xflags", "Extension flags", base.HEX),
    x_ts = ProtoField.bool("ferrule.xflags.ts", "TS", 8, nil, 0x01),
    x_echo = ProtoField.bool("ferrule.xflags.echo", "ECHO", 8, nil, 0x02),
    x_fec = ProtoField.bool("ferrule.xflags.fec", "FEC", 8, nil, 0x04),
    x_reserved = ProtoField.uint8("ferrule.xflags.reserved", "Reserved", base.HEX, nil, 0xF8),
    ts = ProtoField.uint16("ferrule.ts", "Timestamp (ms mod 2^16)", base.DEC),
    echo = ProtoField.uint16("ferrule.echo", "Echoed timestamp", base.DEC),
    hold = ProtoField.uint8("ferrule.hold", "Hold time (ms)", base.DEC),
    fec_seq = ProtoField.uint8("ferrule.fec_seq", "FEC sequence", base.DEC),
    key_id = ProtoField.uint8("ferrule.key_id", "Key id", base.DEC),
    counter = ProtoField.uint32("ferrule.counter", "Nonce counter", base.DEC),
    dict_id = ProtoField.uint8("ferrule.dict_id", "Dictionary id", base.DEC),
    header_len = ProtoField.uint8("ferrule.header_len", "Header length", base.DEC),
    payload = ProtoField.bytes("ferrule.payload", "Payload"),
    payload_len = ProtoField.uint16("ferrule.payload_len", "Payload length", base.DEC),
    text = ProtoField.string("ferrule.text", "Payload as text"),
    deflate = ProtoField.bytes("ferrule.deflate", "Deflate data"),
    ciphertext = ProtoField.bytes("ferrule.aead.ciphertext", "Ciphertext"),
    tag = ProtoField.bytes("ferrule.aead.tag", "Poly1305 tag"),
    crc = ProtoField.uint32("ferrule.crc", "CRC-32C", base.HEX),
    crc_computed = ProtoField.uint32("ferrule.crc.computed", "CRC-32C computed", base.HEX),
    crc_status = ProtoField.uint8("ferrule.crc.status", "CRC status", base.DEC, CRC_STATUS),
    -- hello record, version 2
    h_nonce = ProtoField.bytes("ferrule.hello.nonce", "Nonce"),
    h_peer_nonce = ProtoField.bytes("ferrule.hello.peer_nonce", "Peer nonce"),
    h_max_message = ProtoField.uint16("ferrule.hello.max_message", "Max message", base.DEC),
    h_window = ProtoField.uint8("ferrule.hello.window", "Window", base.DEC),
    h_caps = ProtoField.uint8("ferrule.hello.caps", "Capabilities", base.HEX),
    c_deflate = ProtoField.bool("ferrule.hello.caps.deflate", "DEFLATE", 8, nil, 0x01),
    c_shared = ProtoField.bool("ferrule.hello.caps.shared", "SHARED", 8, nil, 0x02),
    c_dynamic = ProtoField.bool("ferrule.hello.caps.dynamic", "DYNAMIC", 8, nil, 0x04),
    c_best_effort = ProtoField.bool("ferrule.hello.caps.best_effort", "BEST_EFFORT", 8, nil, 0x08),
    h_window_bits = ProtoField.uint8("ferrule.hello.window_bits", "Window bits", base.DEC),
    h_dict_id = ProtoField.uint8("ferrule.hello.dict_id", "Dictionary id", base.DEC),
    h_fec_k = ProtoField.uint8("ferrule.hello.fec_k", "FEC k (largest group)", base.DEC),
    h_fec_m = ProtoField.uint8("ferrule.hello.fec_m", "FEC m (parity per group)", base.DEC),
    h_mac = ProtoField.bytes("ferrule.hello.mac", "MAC (HMAC-SHA256, 16 bytes)"),
    -- hello record, version 1
    h_epoch = ProtoField.uint32("ferrule.hello.epoch", "Epoch", base.HEX),
    h_peer_epoch = ProtoField.uint32("ferrule.hello.peer_epoch", "Peer epoch", base.HEX),
    h_max_payload = ProtoField.uint16("ferrule.hello.max_payload", "Max payload", base.DEC),
    c1_inflate = ProtoField.bool("ferrule.hello.caps.inflate", "INFLATE", 8, nil, 0x01),
    c1_aead = ProtoField.bool("ferrule.hello.caps.aead", "AEAD required", 8, nil, 0x04),
    h_boot = ProtoField.uint32("ferrule.hello.boot", "Boot id", base.HEX),
    h_generation = ProtoField.uint32("ferrule.hello.generation", "Generation", base.DEC),
    -- PARITY payload (version 2)
    p_first = ProtoField.uint8("ferrule.parity.first", "First fec_seq of the group", base.DEC),
    p_n = ProtoField.uint8("ferrule.parity.n", "Frames in the group", base.DEC),
    p_index = ProtoField.uint8("ferrule.parity.index", "Parity index", base.DEC),
    p_m = ProtoField.uint8("ferrule.parity.m", "Parity frames in the group", base.DEC),
    p_symbol = ProtoField.bytes("ferrule.parity.symbol", "Repair symbol"),
    body_len = ProtoField.uint16("ferrule.body_len", "Frame body length", base.DEC),
}
for k, v in pairs(f) do F[k] = v end
-- Stream framing, registered by the COBS layer.
f.cobs_len = ProtoField.uint16("ferrule.cobs.len", "Encoded length", base.DEC)
f.cobs_delim = ProtoField.bool("ferrule.cobs.delimited", "Ends with a delimiter")
ferrule_cobs.fields = { f.cobs_len, f.cobs_delim }

local e = {
    bad_crc = ProtoExpert.new("ferrule.crc.bad", "CRC-32C mismatch", expert.group.CHECKSUM,
        expert.severity.ERROR),
    short = ProtoExpert.new("ferrule.too_short", "Frame shorter than header + CRC",
        expert.group.MALFORMED, expert.severity.ERROR),
    truncated = ProtoExpert.new("ferrule.truncated_header", "Flags announce more header bytes",
        expert.group.MALFORMED, expert.severity.ERROR),
    version = ProtoExpert.new("ferrule.bad_version", "Unknown wire format version",
        expert.group.MALFORMED, expert.severity.ERROR),
    reserved = ProtoExpert.new("ferrule.reserved", "Reserved bits set or reserved type",
        expert.group.PROTOCOL, expert.severity.WARN),
    cobs = ProtoExpert.new("ferrule.cobs.malformed", "Malformed COBS",
        expert.group.MALFORMED, expert.severity.ERROR),
}
ferrule.experts = { e.bad_crc, e.short, e.truncated, e.version, e.reserved }
ferrule_cobs.experts = { e.cobs }

-- CRC-32C (Castagnoli), reflected, init and final xor 0xFFFFFFFF.
local CRC_TABLE = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if bit.band(c, 1) == 1 then
            c = bit.bxor(bit.rshift(c, 1), 0x82F63B78)
        else
            c = bit.rshift(c, 1)
        end
    end
    CRC_TABLE[i] = c
end

local function crc32c(tvb, off, len)
    local c = 0xFFFFFFFF
    local bytes = tvb:range(off, len):bytes()
    for i = 0, len - 1 do
        c = bit.bxor(CRC_TABLE[bit.band(bit.bxor(c, bytes:get_index(i)), 0xFF)], bit.rshift(c, 8))
    end
    return bit.bxor(c, 0xFFFFFFFF)
end

-- Printable text (ASCII and UTF-8 lead/continuation bytes, tab, newline)?
local function is_text(tvb, off, len)
    if len == 0 then return false end
    local b = tvb:range(off, len):bytes()
    for i = 0, len - 1 do
        local x = b:get_index(i)
        if x < 0x20 and x ~= 9 and x ~= 10 and x ~= 13 then return false end
        if x == 0x7F then return false end
    end
    return true
end

local function add_flags(tree, range, version)
    local t = tree:add(f.flags, range)
    t:add(f.f_compressed, range)
    t:add(f.f_shared, range)
    t:add(f.f_dict, range)
    t:add(f.f_seq, range)
    t:add(f.f_ack, range)
    t:add(f.f_sack, range)
    t:add(f.f_aead, range)
    t:add(f.f_ext, range)
    return t
end

local function hello_v2(tvb, off, len, tree, sealed)
    local t = tree:add(ferrule, tvb:range(off, len), "Hello record (v2)")
    if len < 40 then
        t:add_proto_expert_info(e.truncated, "hello record shorter than 40 bytes")
        return
    end
    t:add(f.h_nonce, tvb:range(off, 16))
    t:add(f.h_peer_nonce, tvb:range(off + 16, 16))
    t:add_le(f.h_max_message, tvb:range(off + 32, 2))
    t:add(f.h_window, tvb:range(off + 34, 1))
    local c = t:add(f.h_caps, tvb:range(off + 35, 1))
    c:add(f.c_deflate, tvb:range(off + 35, 1))
    c:add(f.c_shared, tvb:range(off + 35, 1))
    c:add(f.c_dynamic, tvb:range(off + 35, 1))
    c:add(f.c_best_effort, tvb:range(off + 35, 1))
    t:add(f.h_window_bits, tvb:range(off + 36, 1))
    t:add(f.h_dict_id, tvb:range(off + 37, 1))
    t:add(f.h_fec_k, tvb:range(off + 38, 1))
    t:add(f.h_fec_m, tvb:range(off + 39, 1))
    if sealed and len >= 56 then
        t:add(f.h_mac, tvb:range(off + 40, 16))
    end
end

local function hello_v1(tvb, off, len, tree, sealed)
    local t = tree:add(ferrule, tvb:range(off, len), "Hello record (v1)")
    if len < 12 then
        t:add_proto_expert_info(e.truncated, "hello record shorter than 12 bytes")
        return
    end
    t:add_le(f.h_epoch, tvb:range(off, 4))
    t:add_le(f.h_peer_epoch, tvb:range(off + 4, 4))
    t:add_le(f.h_max_payload, tvb:range(off + 8, 2))
    t:add(f.h_window, tvb:range(off + 10, 1))
    local c = t:add(f.h_caps, tvb:range(off + 11, 1))
    c:add(f.c1_inflate, tvb:range(off + 11, 1))
    c:add(f.c_shared, tvb:range(off + 11, 1))
    c:add(f.c1_aead, tvb:range(off + 11, 1))
    if bit.band(tvb:range(off + 11, 1):uint(), 0x04) ~= 0 and len >= 20 then
        t:add_le(f.h_boot, tvb:range(off + 12, 4))
        t:add_le(f.h_generation, tvb:range(off + 16, 4))
        if sealed and len >= 36 then
            t:add(f.tag, tvb:range(off + 20, 16))
        end
    end
end

-- Dissects one frame body (header, payload, CRC); returns a one-line summary.
local function dissect_body(tvb, pinfo, tree)
    local len = tvb:len()
    local root = tree:add(ferrule, tvb:range(0, len))
    root:add(f.body_len, len)
    if len < 7 then
        root:add_proto_expert_info(e.short)
        return "too short"
    end
    local b0 = tvb:range(0, 1):uint()
    local version = bit.rshift(b0, 4)
    local kind = bit.band(b0, 0x0F)
    root:add(f.version, tvb:range(0, 1))
    local ti = root:add(f.type, tvb:range(0, 1))
    local name = TYPES[kind] or ("reserved " .. kind)
    if version == 1 and kind == 7 then name = "reserved 7" end
    root:add(f.type_name, name):set_generated()
    if version ~= 1 and version ~= 2 then
        root:add_proto_expert_info(e.version, "version " .. version .. " (this dissector knows 1 and 2)")
        return "version " .. version
    end
    if name:sub(1, 8) == "reserved" then ti:add_proto_expert_info(e.reserved) end
    root:set_text(string.format("ferrule v%d %s", version, name))
    local flags = tvb:range(1, 1):uint()
    local ft = add_flags(root, tvb:range(1, 1), version)
    if version == 1 and bit.band(flags, 0x80) ~= 0 then ft:add_proto_expert_info(e.reserved) end
    root:add(f.channel, tvb:range(2, 1))
    local channel = tvb:range(2, 1):uint()
    local body_end = len - 4
    local off = 3
    local info = { string.format("%-9s ch %d", name, channel) }
    local function need(n)
        if off + n > body_end then
            root:add_proto_expert_info(e.truncated)
            return false
        end
        return true
    end
    local has = function(mask) return bit.band(flags, mask) ~= 0 end
    local ok = true
    if has(0x08) or has(0x10) then
        ok = need(1)
        if ok then root:add(f.session, tvb:range(off, 1)); off = off + 1 end
    end
    if ok and has(0x08) then
        ok = need(2)
        if ok then
            root:add_le(f.seq, tvb:range(off, 2))
            info[#info + 1] = "seq " .. tvb:range(off, 2):le_uint()
            off = off + 2
        end
    end
    if ok and has(0x10) then
        ok = need(3)
        if ok then
            root:add_le(f.ack, tvb:range(off, 2))
            root:add(f.window, tvb:range(off + 2, 1))
            info[#info + 1] = string.format("ack %d win %d", tvb:range(off, 2):le_uint(),
                tvb:range(off + 2, 1):uint())
            off = off + 3
        end
    end
    if ok and has(0x20) then
        ok = need(4)
        if ok then
            root:add_le(f.sack, tvb:range(off, 4))
            info[#info + 1] = string.format("sack 0x%08x", tvb:range(off, 4):le_uint())
            off = off + 4
        end
    end
    if ok and version == 2 and has(0x80) then
        ok = need(1)
        if ok then
            local r = tvb:range(off, 1)
            local x = r:uint()
            local xt = root:add(f.xflags, r)
            xt:add(f.x_ts, r)
            xt:add(f.x_echo, r)
            xt:add(f.x_fec, r)
            local rs = xt:add(f.x_reserved, r)
            if bit.band(x, 0xF8) ~= 0 then rs:add_proto_expert_info(e.reserved) end
            off = off + 1
            if bit.band(x, 0x01) ~= 0 then
                ok = need(2)
                if ok then root:add_le(f.ts, tvb:range(off, 2)); off = off + 2 end
            end
            if ok and bit.band(x, 0x02) ~= 0 then
                ok = need(3)
                if ok then
                    root:add_le(f.echo, tvb:range(off, 2))
                    root:add(f.hold, tvb:range(off + 2, 1))
                    off = off + 3
                end
            end
            if ok and bit.band(x, 0x04) ~= 0 then
                ok = need(1)
                if ok then
                    root:add(f.fec_seq, tvb:range(off, 1))
                    info[#info + 1] = "fec " .. tvb:range(off, 1):uint()
                    off = off + 1
                end
            end
        end
    end
    if ok and has(0x40) then
        ok = need(5)
        if ok then
            root:add(f.key_id, tvb:range(off, 1))
            root:add_le(f.counter, tvb:range(off + 1, 4))
            info[#info + 1] = string.format("sealed key %d ctr %d", tvb:range(off, 1):uint(),
                tvb:range(off + 1, 4):le_uint())
            off = off + 5
        end
    end
    if ok and has(0x04) then
        ok = need(1)
        if ok then root:add(f.dict_id, tvb:range(off, 1)); off = off + 1 end
    end
    root:add(f.header_len, off):set_generated()

    -- CRC over every byte before it.
    local crc = tvb:range(body_end, 4):le_uint()
    local computed = crc32c(tvb, 0, body_end)
    local crc_ok = crc == computed
    local ct = root:add_le(f.crc, tvb:range(body_end, 4))
    root:add(f.crc_computed, computed):set_generated()
    root:add(f.crc_status, crc_ok and 1 or 0):set_generated()
    if not crc_ok then
        ct:add_proto_expert_info(e.bad_crc, string.format("CRC-32C 0x%08x, computed 0x%08x", crc, computed))
        info[#info + 1] = "CRC BAD"
    end
    if not ok then return table.concat(info, " ") end

    -- Payload.
    local plen = body_end - off
    root:add(f.payload_len, plen):set_generated()
    if plen > 0 then
        local pr = tvb:range(off, plen)
        local sealed = has(0x40)
        if kind == 3 or kind == 4 then
            if version == 2 then hello_v2(tvb, off, plen, root, sealed)
            else hello_v1(tvb, off, plen, root, sealed) end
        elseif version == 2 and kind == 7 and not sealed and plen >= 4 then
            local pt = root:add(ferrule, pr, "Parity")
            pt:add(f.p_first, tvb:range(off, 1))
            pt:add(f.p_n, tvb:range(off + 1, 1))
            pt:add(f.p_index, tvb:range(off + 2, 1))
            pt:add(f.p_m, tvb:range(off + 3, 1))
            if plen > 4 then pt:add(f.p_symbol, tvb:range(off + 4, plen - 4)) end
            info[#info + 1] = string.format("group %d n %d parity %d/%d", tvb:range(off, 1):uint(),
                tvb:range(off + 1, 1):uint(), tvb:range(off + 2, 1):uint(), tvb:range(off + 3, 1):uint())
        elseif sealed then
            if plen >= 16 then
                if plen > 16 then root:add(f.ciphertext, tvb:range(off, plen - 16)) end
                root:add(f.tag, tvb:range(off + plen - 16, 16))
            else
                root:add(f.payload, pr)
            end
        elseif has(0x01) then
            root:add(f.deflate, pr)
            info[#info + 1] = "(deflate)"
        else
            root:add(f.payload, pr)
            if is_text(tvb, off, plen) then
                local s = pr:string(ENC_UTF_8)
                root:add(f.text, pr, s)
                info[#info + 1] = "| " .. (#s > 40 and s:sub(1, 40) .. "..." or s)
            else
                info[#info + 1] = string.format("| %d bytes", plen)
            end
        end
    end
    return table.concat(info, " ")
end

local function set_columns(pinfo, summary)
    pinfo.cols.protocol = "ferrule"
    local dir = ""
    if pinfo.p2p_dir == P2P_DIR_SENT then dir = "-> " elseif pinfo.p2p_dir == P2P_DIR_RECV then dir = "<- " end
    pinfo.cols.info = dir .. summary
end

function ferrule.dissector(tvb, pinfo, tree)
    set_columns(pinfo, dissect_body(tvb, pinfo, tree))
    return tvb:len()
end

-- COBS decoding: returns a ByteArray, or nil and the offset where it failed.
local function cobs_decode(bytes, n)
    local out = ByteArray.new()
    out:set_size(n)
    local o, i = 0, 0
    while i < n do
        local code = bytes:get_index(i)
        if code == 0 then return nil, i end
        i = i + 1
        for _ = 1, code - 1 do
            if i >= n then return nil, i end
            local x = bytes:get_index(i)
            if x == 0 then return nil, i end
            out:set_index(o, x)
            o = o + 1
            i = i + 1
        end
        if code < 0xFF and i < n then
            out:set_index(o, 0)
            o = o + 1
        end
    end
    out:set_size(o)
    return out
end

function ferrule_cobs.dissector(tvb, pinfo, tree)
    local len = tvb:len()
    local t = tree:add(ferrule_cobs, tvb:range(0, len))
    local n = len
    local delimited = len > 0 and tvb:range(len - 1, 1):uint() == 0
    if delimited then n = len - 1 end
    t:add(f.cobs_len, n)
    t:add(f.cobs_delim, delimited)
    if n == 0 then
        pinfo.cols.protocol = "ferrule"
        pinfo.cols.info = "empty frame"
        return len
    end
    local decoded, at = cobs_decode(tvb:range(0, n):bytes(), n)
    if not decoded then
        t:add_proto_expert_info(e.cobs, "malformed COBS at byte " .. at)
        pinfo.cols.protocol = "ferrule"
        pinfo.cols.info = "malformed COBS"
        return len
    end
    local body = decoded:tvb("COBS-decoded frame")
    set_columns(pinfo, dissect_body(body, pinfo, tree))
    return len
end

local encaps = wtap_encaps or wtap
local wtap_table = DissectorTable.get("wtap_encap")
wtap_table:add(encaps and encaps.USER0 or 45, ferrule)
wtap_table:add(encaps and encaps.USER1 or 46, ferrule_cobs)
