"""Edge agent: reads devices over Modbus and MQTT, buffers durably, uplinks, applies setpoints."""
