package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// decodeJSON unmarshals b into v; its errors complete a sentence ("the query ...") and name the field at fault.
func decodeJSON(b []byte, v any) error {
	if !json.Valid(b) {
		return errors.New("is not valid JSON")
	}
	err := json.Unmarshal(b, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return fmt.Errorf("is a JSON %s where %s is expected", typeErr.Value, kindName(typeErr.Type))
	case errors.As(err, &typeErr) && kindName(typeErr.Type) == "a number" && strings.HasPrefix(typeErr.Value, "number "):
		return fmt.Errorf("has %q = %s, a number out of range", typeErr.Field, strings.TrimPrefix(typeErr.Value, "number "))
	case errors.As(err, &typeErr):
		return fmt.Errorf("has %q as JSON %s where %s is expected", typeErr.Field, typeErr.Value, kindName(typeErr.Type))
	default:
		return fmt.Errorf("could not be read: %w", err)
	}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int64, reflect.Int32:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}
