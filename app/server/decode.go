package server

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// invalidType words a JSON type mismatch in JSON's terms: the client never
// sees a Go type name such as []openai.Message.
func invalidType(te *json.UnmarshalTypeError) *apiError {
	field := "'" + te.Field + "'"
	if te.Field == "" {
		field = "the request body"
	}
	return invalidRequest(te.Field, "invalid_type", fmt.Sprintf("Invalid type for %s: expected %s, got JSON %s.", field, jsonKind(te.Type), te.Value))
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another type"
}
