package mongosim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// Wire protocol opcodes the simulator speaks.
const (
	opReply = 1
	opQuery = 2004
	opMsg   = 2013
)

const (
	msgChecksumPresent = 1 << 0
	maxMessageSize     = 48_000_000
)

// header is the standard message header of every wire message.
type header struct {
	Length, RequestID, ResponseTo, OpCode int32
}

// request is one decoded client message: the command document and how
// to answer it.
type request struct {
	hdr    header
	cmd    bson.Raw
	legacy bool   // OP_QUERY: answer with OP_REPLY
	db     string // OP_QUERY: the database of the namespace
}

// readMessage reads one message from r and decodes OP_MSG (section kind
// 0, with kind 1 sections folded into the command as arrays) and OP_QUERY
// commands.
func readMessage(r io.Reader) (*request, error) {
	var hb [16]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return nil, err
	}
	h := header{
		Length:     int32(binary.LittleEndian.Uint32(hb[0:])),
		RequestID:  int32(binary.LittleEndian.Uint32(hb[4:])),
		ResponseTo: int32(binary.LittleEndian.Uint32(hb[8:])),
		OpCode:     int32(binary.LittleEndian.Uint32(hb[12:])),
	}
	if h.Length < 16 || h.Length > maxMessageSize {
		return nil, fmt.Errorf("message length %d out of range", h.Length)
	}
	body := make([]byte, h.Length-16)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	switch h.OpCode {
	case opMsg:
		cmd, err := decodeMsg(body)
		if err != nil {
			return nil, err
		}
		return &request{hdr: h, cmd: cmd}, nil
	case opQuery:
		cmd, db, err := decodeQuery(body)
		if err != nil {
			return nil, err
		}
		return &request{hdr: h, cmd: cmd, legacy: true, db: db}, nil
	}
	return nil, fmt.Errorf("unsupported opcode %d", h.OpCode)
}

// decodeMsg returns the body section of an OP_MSG.
func decodeMsg(b []byte) (bson.Raw, error) {
	if len(b) < 5 {
		return nil, errors.New("OP_MSG too short")
	}
	flags := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if flags&msgChecksumPresent != 0 {
		if len(b) < 4 {
			return nil, errors.New("OP_MSG checksum missing")
		}
		b = b[:len(b)-4]
	}
	var body bson.Raw
	for len(b) > 0 {
		kind := b[0]
		b = b[1:]
		switch kind {
		case 0:
			d, rest, err := readDoc(b)
			if err != nil {
				return nil, err
			}
			body, b = d, rest
		case 1:
			// Document sequences carry bulk write payloads, which the
			// simulator never needs; skip them.
			if len(b) < 4 {
				return nil, errors.New("OP_MSG sequence too short")
			}
			n := int(binary.LittleEndian.Uint32(b))
			if n < 4 || n > len(b) {
				return nil, errors.New("OP_MSG sequence length out of range")
			}
			b = b[n:]
		default:
			return nil, fmt.Errorf("OP_MSG section kind %d", kind)
		}
	}
	if body == nil {
		return nil, errors.New("OP_MSG without a body section")
	}
	return body, nil
}

// decodeQuery returns the command of an OP_QUERY against a $cmd
// collection, unwrapping {$query: ...}, and the namespace's database.
func decodeQuery(b []byte) (bson.Raw, string, error) {
	if len(b) < 4 {
		return nil, "", errors.New("OP_QUERY too short")
	}
	b = b[4:]
	i := 0
	for i < len(b) && b[i] != 0 {
		i++
	}
	if i == len(b) {
		return nil, "", errors.New("OP_QUERY collection name not terminated")
	}
	db, _, _ := strings.Cut(string(b[:i]), ".")
	b = b[i+1:]
	if len(b) < 8 {
		return nil, "", errors.New("OP_QUERY too short")
	}
	d, _, err := readDoc(b[8:])
	if err != nil {
		return nil, "", err
	}
	if q, ok := d.Lookup("$query").DocumentOK(); ok {
		return q, db, nil
	}
	if q, ok := d.Lookup("query").DocumentOK(); ok {
		return q, db, nil
	}
	return d, db, nil
}

func readDoc(b []byte) (bson.Raw, []byte, error) {
	if len(b) < 5 {
		return nil, nil, errors.New("document too short")
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 5 || n > len(b) {
		return nil, nil, errors.New("document length out of range")
	}
	d := bson.Raw(b[:n])
	if err := d.Validate(); err != nil {
		return nil, nil, err
	}
	return d, b[n:], nil
}

// encodeReply builds the answer to req holding doc.
func encodeReply(reqID int32, req *request, doc []byte) []byte {
	var body []byte
	op := int32(opMsg)
	if req.legacy {
		op = opReply
		body = binary.LittleEndian.AppendUint32(body, 0) // responseFlags
		body = binary.LittleEndian.AppendUint64(body, 0) // cursorID
		body = binary.LittleEndian.AppendUint32(body, 0) // startingFrom
		body = binary.LittleEndian.AppendUint32(body, 1) // numberReturned
		body = append(body, doc...)
	} else {
		body = binary.LittleEndian.AppendUint32(body, 0) // flagBits
		body = append(body, 0)                           // section kind 0
		body = append(body, doc...)
	}
	out := make([]byte, 0, 16+len(body))
	out = binary.LittleEndian.AppendUint32(out, uint32(16+len(body)))
	out = binary.LittleEndian.AppendUint32(out, uint32(reqID))
	out = binary.LittleEndian.AppendUint32(out, uint32(req.hdr.RequestID))
	out = binary.LittleEndian.AppendUint32(out, uint32(op))
	return append(out, body...)
}
